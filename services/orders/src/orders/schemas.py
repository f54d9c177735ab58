"""Orders request and response bodies, with strict input limits."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mercato_shared.json_types import JSON_INTEGER, RowId
from mercato_shop.lines import one_line_per_product

MAX_LINES = 100
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_.:-]{1,255}$"


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: RowId
    quantity: Annotated[int, Field(ge=1, le=1000), JSON_INTEGER]


class OrderCreate(BaseModel):
    """Only products and quantities: prices come from catalog, never from the client."""

    model_config = ConfigDict(extra="forbid")

    items: Annotated[list[LineIn], Field(min_length=1, max_length=MAX_LINES)]

    @field_validator("items")
    @classmethod
    def _one_line_per_product(cls, items: list[LineIn]) -> list[LineIn]:
        """Lines of the same product are one line of the order: their quantities add up.

        So every list of lines the schema admits is an order (no rule across lines that the
        schema could not state). The 1..1000 bound is per line as sent; a merged line holds
        up to MAX_LINES times as much, and catalog reserves it as one line.
        """
        return one_line_per_product(
            items,
            lambda product_id, quantity: LineIn.model_construct(
                product_id=product_id, quantity=quantity
            ),
        )

    def fingerprint(self) -> str:
        """The hash an Idempotency-Key is bound to (line order does not matter)."""
        lines = sorted((item.product_id, item.quantity) for item in self.items)
        return hashlib.sha256(repr(lines).encode()).hexdigest()


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    product_id: int
    name: str
    quantity: int
    unit_price: Decimal


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    status: str
    currency: str
    total: Decimal
    created_at: datetime
    items: list[ItemOut]


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


MAX_LOOKUP = 1000


class ReservationLookup(BaseModel):
    """Reservation ids catalog's sweeper holds open (`POST /orders/reservation-lookup`)."""

    model_config = ConfigDict(extra="forbid")

    reservation_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=MAX_LOOKUP)]


class ReservationsOrdered(BaseModel):
    ordered: list[uuid.UUID] = Field(
        description="The given reservation ids an order was written with; the others have none."
    )


class TotalCount(BaseModel):
    total: Decimal = Field(description="An order total that occurs in the window.")
    orders: int = Field(description="How many orders have exactly this total.")


class CustomerSpend(BaseModel):
    user_id: int
    orders: int
    spend: Decimal = Field(description="The sum of this customer's order totals.")


class CurrencySales(BaseModel):
    currency: str
    totals: list[TotalCount] = Field(
        description="The histogram of order totals: each distinct total once, ascending."
    )
    top_customers: list[CustomerSpend] = Field(
        description="The biggest spenders first, ties by user id compared as text; at most "
        "`top_customers` of them."
    )


class DaySales(BaseModel):
    day: date = Field(description="A UTC calendar day of `created_at`.")
    currency: str
    orders: int
    revenue: Decimal


class ProductDaySales(BaseModel):
    day: date = Field(description="A UTC calendar day of `created_at`.")
    product_id: int
    currency: str
    orders: int = Field(description="Orders holding this product (each counted once).")
    quantity: int
    revenue: Decimal = Field(description="The sum of quantity times unit price of its lines.")


class PairCount(BaseModel):
    products: Annotated[list[int], Field(min_length=2, max_length=2)] = Field(
        description="Two distinct products, the smaller id first."
    )
    orders: int = Field(description="Orders holding both (at least two).")


class SalesSummary(BaseModel):
    """What a sales or purchases report reads of the orders created in `[since, until)`,
    aggregated by Postgres: nothing per order."""

    currencies: list[CurrencySales]
    days: list[DaySales] = Field(description="Per UTC day and currency.")
    product_days: list[ProductDaySales] = Field(description="Per UTC day, product and currency.")
    pairs: list[PairCount] = Field(
        description="Per pair of distinct products of one order, when at least two orders "
        "hold both."
    )
