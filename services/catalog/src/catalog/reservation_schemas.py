"""Bodies of the stock reservation API (used by orders with its service token)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mercato_shared.json_types import JSON_INTEGER, RowId

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
