"""Money rules: Decimal only, rounded half-up to the currency's minor unit at explicit points.

* each line total (unit price x quantity) in the product's currency: exact, no rounding needed;
* conversion to the base currency (EUR) is exact until the subtotal, which is rounded once;
* tax is rounded once, on the rounded subtotal;
* the total in the requested currency is converted from the rounded base total and rounded
  once to that currency's minor unit (JPY has none).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

BASE_CURRENCY: Final = "EUR"
MINOR_UNITS: Final[Mapping[str, int]] = {"EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "JPY": 0}
SUPPORTED_CURRENCIES: Final = frozenset(MINOR_UNITS)


def round_money(amount: Decimal, currency: str) -> Decimal:
    exponent = Decimal(1).scaleb(-MINOR_UNITS[currency])
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


def to_base(amount: Decimal, currency: str, rates_per_eur: Mapping[str, Decimal]) -> Decimal:
    """`amount` of `currency` in EUR, unrounded (`rates_per_eur[c]` = units of c per 1 EUR)."""
    if currency == BASE_CURRENCY:
        return amount
    return amount / rates_per_eur[currency]


def from_base(amount: Decimal, currency: str, rates_per_eur: Mapping[str, Decimal]) -> Decimal:
    """EUR `amount` in `currency`, rounded to its minor unit."""
    rate = Decimal(1) if currency == BASE_CURRENCY else rates_per_eur[currency]
    return round_money(amount * rate, currency)
