"""Orders' demo history names the products catalog's seed inserts (the same generator)."""

from __future__ import annotations

from decimal import Decimal

from mercato_shop.demo_products import generate as catalog_rows
from orders.seed import demo_orders


def test_demo_orders_use_the_products_and_prices_the_catalog_seed_inserts() -> None:
    products = catalog_rows(1000)  # the rows catalog's seed inserts, ids 1..1000
    orders = demo_orders(300)
    assert len(orders) == 300
    for order, items in orders:
        assert items
        for item in items:
            row = products[item["product_id"] - 1]
            assert (item["name"], item["unit_price"]) == (row["name"], row["price"])
            assert row["currency"] == order["currency"]
        assert order["total"] == sum(
            (Decimal(i["unit_price"]) * i["quantity"] for i in items), Decimal("0")
        )
