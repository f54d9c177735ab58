"""The simulated partners' business rules: three carriers' price models, VAT rates, FX rates.

Pure functions of their inputs (no clock, no randomness), so unit tests pin them exactly.
Carrier prices are in EUR; FX rates are units of a currency per 1 EUR.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

CENT: Final = Decimal("0.01")

# Zones by distance from the (German) warehouse.
ZONES: Final[dict[str, int]] = {
    "DE": 1,
    "NL": 2, "BE": 2, "AT": 2, "FR": 2,
    "IT": 3, "ES": 3, "GB": 3, "CH": 3,
    "US": 4, "JP": 4,
}  # fmt: skip

VAT_RATES: Final[dict[str, Decimal]] = {
    "DE": Decimal("0.19"), "FR": Decimal("0.20"), "NL": Decimal("0.21"), "BE": Decimal("0.21"),
    "AT": Decimal("0.20"), "IT": Decimal("0.22"), "ES": Decimal("0.21"), "GB": Decimal("0.20"),
    "CH": Decimal("0.081"), "US": Decimal("0.00"), "JP": Decimal("0.10"),
}  # fmt: skip

FX_PER_EUR: Final[dict[str, Decimal]] = {
    "EUR": Decimal("1"),
    "USD": Decimal("1.0850"),
    "GBP": Decimal("0.8560"),
    "CHF": Decimal("0.9620"),
    "JPY": Decimal("162.40"),
}


@dataclass(frozen=True, slots=True)
class ShipmentQuote:
    service_level: str
    price: Decimal
    estimated_days: int


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def swift_quote(country: str, weight_grams: int, items: int) -> ShipmentQuote:
    """Express courier: a zone base plus a price per started kilogram; fast, dear."""
    zone = ZONES[country]
    kilos = max(1, math.ceil(weight_grams / 1000))
    price = Decimal("9.90") + Decimal("4.50") * (zone - 1) + Decimal("1.80") * kilos
    return ShipmentQuote("express", _money(price), 1 if zone <= 2 else zone - 1)


def parcelpost_quote(country: str, weight_grams: int, items: int) -> ShipmentQuote:
    """National post: a flat price per zone plus a small handling fee per item; slow, cheap."""
    zone = ZONES[country]
    parcels = max(1, math.ceil(weight_grams / 31_500))  # 31.5 kg per parcel at most
    price = (Decimal("4.49") + Decimal("3.00") * (zone - 1)) * parcels + Decimal("0.25") * items
    return ShipmentQuote("economy", _money(price), 2 + zone * 2)


def freightline_quote(country: str, weight_grams: int, items: int) -> ShipmentQuote:
    """Freight: weight tiers, cheapest for heavy carts, dear for light ones."""
    zone = ZONES[country]
    tiers = ((5_000, Decimal("14.00")), (20_000, Decimal("19.00")), (100_000, Decimal("29.00")))
    base = next((price for limit, price in tiers if weight_grams <= limit), Decimal("49.00"))
    price = base * (Decimal(1) + Decimal("0.15") * (zone - 1))
    return ShipmentQuote("freight", _money(price), 3 + zone)


CARRIER_MODELS: Final = {
    "carrier-swift": swift_quote,
    "carrier-parcelpost": parcelpost_quote,
    "carrier-freightline": freightline_quote,
}
