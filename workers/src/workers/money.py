"""Money in exact integer cents: parsed from decimal strings, rendered with two decimals."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal


def to_cents(amount: Decimal | str | int | float) -> int:
    """Exact cents of a money amount with at most two decimals (rounded half-even if more)."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    return int(value * 100)


def money(cents: float) -> str:
    """Cents (possibly fractional, from a percentile) as a string with two decimals."""
    exact = (Decimal(repr(cents)) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    return f"{exact:.2f}"
