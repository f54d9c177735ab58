"""Catalog request and response bodies, with strict input limits: products, and the stock
reservations orders makes with its service token."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from mercato_shared.json_types import JSON_INTEGER, NO_NUL, RowId

Currency = Literal["EUR", "USD", "GBP"]
Sku = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{2,31}$")]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_NUL)
]
Description = Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL)]
Category = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
# A price is a string of at most two decimals, 0.01 to 1000000 (a JSON number would carry a
# binary fraction); the pattern is the whole rule, so the schema says exactly what is taken.
PRICE_PATTERN = (
    r"^(?:0\.(?:0[1-9]|[1-9][0-9]?)|[1-9][0-9]{0,5}(?:\.[0-9]{1,2})?|1000000(?:\.00?)?)$"
)


def _price(value: object) -> object:
    if isinstance(value, Decimal):  # Python callers (the seed)
        return value
    if not isinstance(value, str) or re.fullmatch(PRICE_PATTERN, value) is None:
        msg = "a price is a string such as 19.99, from 0.01 to 1000000"
        raise ValueError(msg)
    return value


Price = Annotated[
    Decimal,
    BeforeValidator(_price),
    Field(gt=0, le=Decimal("1000000"), max_digits=12, decimal_places=2),
    WithJsonSchema({"type": "string", "pattern": PRICE_PATTERN, "examples": ["19.99"]}),
]


Stock = Annotated[int, Field(ge=0, le=1_000_000), JSON_INTEGER]


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    name: Name
    description: Description = ""
    price: Price
    currency: Currency = "EUR"
    stock: Stock = 0
    category: Category


class ProductUpdate(BaseModel):
    """A partial update: only the fields present change; none of them may be null."""

    model_config = ConfigDict(extra="forbid")

    # None stands for "absent" only: the schema admits no null (a null is refused below).
    name: Name | SkipJsonSchema[None] = None
    description: Description | SkipJsonSchema[None] = None
    price: Price | SkipJsonSchema[None] = None
    currency: Currency | SkipJsonSchema[None] = None
    stock: Stock | SkipJsonSchema[None] = None
    category: Category | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _no_explicit_nulls(self) -> ProductUpdate:
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            msg = f"must not be null: {', '.join(nulls)}"
            raise ValueError(msg)
        return self


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sku: str
    name: str
    description: str
    price: Decimal
    currency: str
    stock: int
    category: str
    created_at: datetime
    updated_at: datetime


class ProductPage(BaseModel):
    items: list[ProductOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class PopularProduct(BaseModel):
    product_id: int
    units: int = Field(description="Units sold over the ranking's window.")


# Stock reservations.
MAX_LINES = 100


class ReservationLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: RowId
    # Up to an order's 100 lines of 1,000 each: orders merges the lines of one product.
    quantity: Annotated[int, Field(ge=1, le=100_000), JSON_INTEGER]


class ReservationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID = Field(description="The caller's id for this reservation (e.g. the order's).")
    lines: Annotated[list[ReservationLineIn], Field(min_length=1, max_length=MAX_LINES)]

    @field_validator("lines")
    @classmethod
    def _one_line_per_product(cls, lines: list[ReservationLineIn]) -> list[ReservationLineIn]:
        if len({line.product_id for line in lines}) != len(lines):
            msg = "each product may appear on one line only"
            raise ValueError(msg)
        return sorted(lines, key=lambda line: line.product_id)


class ReservedLine(BaseModel):
    product_id: int
    quantity: int
    unit_price: Decimal
    currency: str
    name: str


class ReservationOut(BaseModel):
    id: uuid.UUID
    lines: list[ReservedLine]
    released: bool = False
