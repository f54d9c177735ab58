"""The demo shop's products: one deterministic generator both seeds agree on.

`catalog.seed` inserts `generate(count)` into a fresh catalog database, where row `n` (from 1)
gets id `n`; `orders.seed` prices its demo history with the same rows, so the demo orders
name products that exist with the prices and currencies catalog holds. It lives here, in the
shared library, so that neither service imports the other (each service owns its data; this
is demo fixture data, not catalog's): one source of truth, no copy to drift.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

CATEGORIES: dict[str, tuple[list[str], list[str], tuple[int, int]]] = {
    "kitchen": (
        ["Cast-iron", "Ceramic", "Bamboo", "Copper", "Enamel"],
        ["skillet", "teapot", "cutting board", "saucepan", "mixing bowl", "knife set"],
        (9, 180),
    ),
    "garden": (
        ["Weatherproof", "Folding", "Galvanised", "Cedar", "Solar"],
        ["planter", "hose reel", "lantern", "bench", "pruning shears", "bird feeder"],
        (6, 400),
    ),
    "books": (
        ["Illustrated", "Pocket", "Collector's", "Annotated", "Hardback"],
        ["atlas", "cookbook", "field guide", "novel", "poetry anthology"],
        (7, 60),
    ),
    "electronics": (
        ["Wireless", "Compact", "Noise-cancelling", "Rechargeable", "Smart"],
        ["headphones", "speaker", "charger", "desk lamp", "keyboard", "webcam"],
        (15, 450),
    ),
    "toys": (
        ["Wooden", "Magnetic", "Plush", "Glow-in-the-dark", "Classic"],
        ["building blocks", "puzzle", "train set", "kite", "board game"],
        (5, 120),
    ),
    "sports": (
        ["Lightweight", "Pro", "Adjustable", "Waterproof", "Ergonomic"],
        ["yoga mat", "water bottle", "dumbbell set", "running vest", "tennis racket"],
        (8, 260),
    ),
    "apparel": (
        ["Merino", "Linen", "Organic cotton", "Recycled", "Quilted"],
        ["scarf", "t-shirt", "jacket", "socks", "beanie"],
        (9, 220),
    ),
    "office": (
        ["Recycled", "Leather", "Ergonomic", "Minimalist", "Dot-grid"],
        ["notebook", "desk organiser", "fountain pen", "monitor stand", "planner"],
        (4, 190),
    ),
}
CURRENCIES = ("EUR", "EUR", "EUR", "USD", "GBP")


def generate(count: int, seed: int = 42) -> list[dict[str, Any]]:
    """`count` plausible products with unique SKUs; the same seed gives the same rows."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not security
    names = sorted(CATEGORIES)
    rows = []
    for number in range(1, count + 1):
        category = names[number % len(names)]
        adjectives, nouns, (low, high) = CATEGORIES[category]
        adjective, noun = rng.choice(adjectives), rng.choice(nouns)
        cents = rng.randint(low * 100, high * 100)
        price = Decimal(cents - cents % 100 + 99 if cents > 1000 else cents) / 100
        rows.append(
            {
                "sku": f"{category[:3].upper()}-{number:06d}",
                "name": f"{adjective} {noun}",
                "description": f"{adjective} {noun} from our {category} range.",
                "price": price,
                "currency": rng.choice(CURRENCIES),
                "stock": rng.choice((0, 3, 12, 25, 40, 80, 150, 500)),
                "category": category,
            }
        )
    return rows
