"""`python -m catalog.seed [--count N]`: load realistic products (idempotent, deterministic).

The rows come from `mercato_shop.demo_products.generate`, which orders' seed uses too.
"""

from __future__ import annotations

import argparse
import asyncio

from sqlalchemy.dialects.postgresql import insert

from catalog.config import CatalogSettings
from catalog.models import Product
from mercato_shared.db import create_engine
from mercato_shop.demo_products import generate


async def seed(settings: CatalogSettings, count: int) -> int:
    """Insert the generated products that are not there yet; returns how many were new."""
    engine = create_engine(settings)
    inserted = 0
    try:
        rows = generate(count)
        async with engine.begin() as conn:
            for start in range(0, len(rows), 500):
                batch = rows[start : start + 500]
                statement = (
                    insert(Product).values(batch).on_conflict_do_nothing(index_elements=["sku"])
                )
                result = await conn.execute(statement.returning(Product.id))
                inserted += len(result.all())
    finally:
        await engine.dispose()
    return inserted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    inserted = asyncio.run(seed(CatalogSettings(), args.count))
    print(f"catalog seed: {inserted} new products ({args.count} requested)")


if __name__ == "__main__":
    main()
