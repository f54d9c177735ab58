"""`python -m orders.seed`: ~5,000 demo orders over the last 120 days (deterministic).

Products and prices come from `mercato_shop.demo_products.generate(1000)`, the rows the
catalog seed inserts with ids 1..1000 into a fresh catalog database, so this seed needs no
running service, runs before the stack starts and imports nothing of catalog's. Demo orders
are history: they take no stock. Users are the identity seed's demo customers (ids 2..201
in a fresh identity database).

Idempotent: each order's reservation id is derived from its number (uuid5), which is
unique, so a re-run inserts nothing new. One currency per order, like real ones.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from sqlalchemy.dialects.postgresql import insert

from mercato_shared.db import create_engine
from mercato_shop.demo_products import generate
from orders.config import OrdersSettings
from orders.models import Order, OrderItem

DEMO_CUSTOMER_IDS: Final = range(2, 202)
_NAMESPACE: Final = uuid.UUID("6f1c2b1e-9f62-4c33-9d0e-2a51b7c0d001")
_BATCH: Final = 1000


def demo_orders(count: int, seed: int = 7) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    rng = random.Random(seed)  # noqa: S311 - sample data
    products = generate(1000)
    by_currency: dict[str, list[int]] = defaultdict(list)
    for product_id, row in enumerate(products, start=1):
        by_currency[row["currency"]].append(product_id)
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    result = []
    for number in range(count):
        currency = rng.choice(("EUR", "EUR", "EUR", "USD", "GBP"))
        ids = rng.sample(by_currency[currency], rng.randint(1, 5))
        items = [
            {
                "product_id": pid,
                "name": products[pid - 1]["name"],
                "quantity": rng.randint(1, 4),
                "unit_price": products[pid - 1]["price"],
            }
            for pid in ids
        ]
        total = sum((Decimal(i["unit_price"]) * i["quantity"] for i in items), Decimal("0"))
        created = now - timedelta(seconds=rng.randint(0, 120 * 86_400))
        order = {
            "user_id": rng.choice(DEMO_CUSTOMER_IDS),
            "reservation_id": uuid.uuid5(_NAMESPACE, f"demo-order-{number}"),
            "status": "confirmed",
            "currency": currency,
            "total": total,
            "created_at": created,
        }
        result.append((order, items))
    return result


async def seed(settings: OrdersSettings, count: int) -> int:
    """Insert the demo orders that are not there yet; returns how many were new."""
    engine = create_engine(settings)
    inserted = 0
    try:
        rows = demo_orders(count)
        async with engine.begin() as conn:
            for start in range(0, len(rows), _BATCH):
                batch = rows[start : start + _BATCH]
                new = await conn.execute(
                    insert(Order)
                    .values([order for order, _ in batch])
                    .on_conflict_do_nothing(index_elements=["reservation_id"])
                    .returning(Order.id, Order.reservation_id)
                )
                ids = {reservation: order_id for order_id, reservation in new.all()}
                items = [
                    item | {"order_id": ids[order["reservation_id"]]}
                    for order, order_items in batch
                    if order["reservation_id"] in ids
                    for item in order_items
                ]
                if items:
                    await conn.execute(insert(OrderItem), items)
                inserted += len(ids)
    finally:
        await engine.dispose()
    return inserted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=5000)
    args = parser.parse_args()
    inserted = asyncio.run(seed(OrdersSettings(), args.count))
    print(f"orders seed: {inserted} new orders ({args.count} requested)")


if __name__ == "__main__":
    main()
