"""Shipping weight estimates: catalog has no weights yet, so a typical weight per category."""

from __future__ import annotations

from typing import Final

GRAMS_BY_CATEGORY: Final[dict[str, int]] = {
    "kitchen": 1200,
    "garden": 2500,
    "books": 600,
    "electronics": 800,
    "toys": 700,
    "sports": 1500,
    "apparel": 400,
    "office": 500,
}
DEFAULT_GRAMS: Final = 1000
PACKAGING_GRAMS: Final = 150


def parcel_weight(lines: list[tuple[str, int]]) -> int:
    """Grams of a parcel holding `quantity` items of each `category`, packaging included."""
    goods = sum(GRAMS_BY_CATEGORY.get(category, DEFAULT_GRAMS) * qty for category, qty in lines)
    return goods + PACKAGING_GRAMS
