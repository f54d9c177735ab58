"""Checkout request and response bodies, with strict input limits."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)
from pydantic.config import JsonDict

from checkout.money import SUPPORTED_CURRENCIES
from mercato_shared.json_types import JSON_INTEGER, RowId
from mercato_shop.countries import Country
from mercato_shop.lines import one_line_per_product

PostalCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]{1,9}$")]
# Any three capitals parse (so the service can say which it supports, 422
# `unsupported_currency`); the schema lists the codes it takes.
CurrencyCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    WithJsonSchema({"type": "string", "enum": sorted(SUPPORTED_CURRENCIES)}),
]
SourceStatus = Literal["ok", "timeout", "error", "circuit_open"]


class QuoteLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: RowId
    quantity: Annotated[int, Field(ge=1, le=1000), JSON_INTEGER]


class Destination(BaseModel):
    model_config = ConfigDict(extra="forbid")

    country: Country
    postal_code: PostalCode


# A cart that prices: product 1000 is the last one `catalog.seed` creates (the development
# and test stacks seed 1000), far from the low ids fuzzers and first pages pick.
QUOTE_EXAMPLE: JsonDict = {
    "items": [{"product_id": 1000, "quantity": 2}],
    "destination": {"country": "DE", "postal_code": "10115"},
    "currency": "EUR",
}


class QuoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [QUOTE_EXAMPLE]})

    items: list[QuoteLine] = Field(min_length=1, max_length=50)
    destination: Destination
    currency: CurrencyCode

    @field_validator("items")
    @classmethod
    def _one_line_per_product(cls, items: list[QuoteLine]) -> list[QuoteLine]:
        """Lines of the same product are one line of the cart: their quantities add up
        (as an order's do), so every list the schema admits can be priced."""
        return one_line_per_product(
            items,
            lambda product_id, quantity: QuoteLine.model_construct(
                product_id=product_id, quantity=quantity
            ),
        )


class QuoteLineOut(BaseModel):
    product_id: int
    name: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal
    currency: str


class ShippingOption(BaseModel):
    carrier: str
    service_level: str
    price: Decimal
    currency: str = "EUR"
    estimated_days: int


class TaxOut(BaseModel):
    country: Country
    rate: Decimal
    amount: Decimal
    currency: str = "EUR"


class TotalOut(BaseModel):
    amount: Decimal
    currency: str
    fx_rate: Decimal = Field(description="Units of `currency` per 1 EUR used for the total.")
    shipping_carrier: str | None = Field(
        description="The (cheapest) shipping option included in the total; null if none."
    )


class SourceOut(BaseModel):
    status: SourceStatus
    latency_ms: float
    cached: bool = Field(
        default=False, description="Answered without a call of this request (cache or a twin)."
    )


class QuoteOut(BaseModel):
    items: list[QuoteLineOut]
    base_currency: str = "EUR"
    subtotal: Decimal = Field(description="Goods in the base currency (EUR).")
    shipping_options: list[ShippingOption]
    tax: TaxOut
    total: TotalOut
    partial: bool = Field(description="True when a carrier did not answer.")
    sources: dict[str, SourceOut]
