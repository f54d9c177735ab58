"""Partners' request and response bodies."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from mercato_shop.countries import Country

PostalCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]{1,9}$")]
Carrier = Literal["swift", "parcelpost", "freightline"]
FxCurrency = Literal["EUR", "USD", "GBP", "CHF", "JPY"]


class ShippingQuoteQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    country: Country
    postal_code: PostalCode
    weight_grams: int = Field(ge=1, le=1_000_000)
    items: int = Field(ge=1, le=50_000)


class ShippingQuoteOut(BaseModel):
    carrier: Carrier
    service_level: str
    price: Decimal
    currency: Literal["EUR"] = "EUR"
    estimated_days: int


class TaxRateOut(BaseModel):
    country: Country
    rate: Decimal = Field(description="VAT / sales tax rate as a fraction, e.g. 0.19.")


class FxRatesOut(BaseModel):
    base: Literal["EUR"] = "EUR"
    rates: dict[str, Decimal] = Field(description="Units of each currency per 1 EUR.")


class ShipmentIn(BaseModel):
    country: Country
    postal_code: PostalCode
    weight_grams: int = Field(ge=1, le=1_000_000)


class ShipmentOut(BaseModel):
    carrier: Carrier
    shipment_number: int
