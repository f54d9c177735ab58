"""The sales summary against the real Postgres: orders written through orders' own API,
the summary Postgres aggregates, and the same figures computed here from the export."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import combinations
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from mercato_shared.testing.tokens import bearer
from orders.schemas import OrderOut, SalesSummary

from ..conftest import orders_settings
from ..fake_catalog import FakeCatalog

SERVICE = bearer("reports", "service")
# The orders are moved to days around this instant (near midnight UTC, so the UTC day matters).
BASE = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)
WINDOW = {"since": (BASE - timedelta(days=1)).isoformat(), "until": "2026-03-08T00:00:00+00:00"}


async def write_orders(client: httpx.AsyncClient, catalog: FakeCatalog) -> None:
    """Orders in two currencies over several days from a dozen users, many with several
    lines; users 13, 30 and 100 spend exactly the same (a tie the ranking breaks by id)."""
    rng = random.Random(28)
    eur = [
        catalog.add_product(f"SUM-E{n}", 10_000, f"{rng.randint(100, 4000) / 100:.2f}")
        for n in range(6)
    ]
    usd = [
        catalog.add_product(f"SUM-U{n}", 10_000, f"{rng.randint(100, 4000) / 100:.2f}", "USD")
        for n in range(3)
    ]
    for _ in range(60):
        products = rng.choice((eur, eur, usd))
        lines = [
            {"product_id": product, "quantity": rng.randint(1, 3)}
            for product in rng.sample(products, rng.randint(1, len(products) - 1))
        ]
        response = await client.post(
            "/orders", json={"items": lines}, headers=bearer(rng.randint(1, 12))
        )
        assert response.status_code == 201, response.text
    for user in (13, 30, 100):
        body = {"items": [{"product_id": eur[0], "quantity": 1000}]}
        assert (await client.post("/orders", json=body, headers=bearer(user))).status_code == 201
    # Spread them over a week of days, at times on both sides of midnight UTC.
    engine = create_async_engine(orders_settings().database_url)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE orders SET created_at = CAST(:base AS timestamptz) "
                "+ (id % 6) * interval '1 day' + (id % 4) * interval '45 minutes'"
            ),
            {"base": BASE},
        )
    await engine.dispose()


async def exported(client: httpx.AsyncClient) -> list[OrderOut]:
    orders: list[OrderOut] = []
    params: dict[str, Any] = WINDOW | {"limit": 17}
    while True:
        page = await client.get("/orders/export", params=params, headers=SERVICE)
        assert page.status_code == 200, page.text
        orders += [OrderOut.model_validate(item) for item in page.json()["items"]]
        if page.json()["next_cursor"] is None:
            return orders
        params["cursor"] = page.json()["next_cursor"]


def summarize(orders: list[OrderOut], top_customers: int) -> dict[str, Any]:
    """The summary's figures, in Python, from the raw orders."""
    totals: dict[str, Counter[Decimal]] = defaultdict(Counter)
    spend: dict[tuple[str, int], list[Decimal]] = defaultdict(list)
    days: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    cells: dict[tuple[str, int, str], list[Any]] = defaultdict(lambda: [set(), 0, Decimal(0)])
    holders: dict[int, set[int]] = defaultdict(set)
    for order in orders:
        day = order.created_at.astimezone(UTC).date().isoformat()
        totals[order.currency][order.total] += 1
        spend[(order.currency, order.user_id)].append(order.total)
        days[(day, order.currency)].append(order.total)
        for item in order.items:
            cell = cells[(day, item.product_id, order.currency)]
            cell[0].add(order.id)
            cell[1] += item.quantity
            cell[2] += item.quantity * item.unit_price
            holders[item.product_id].add(order.id)
    pairs = [
        {"products": [a, b], "orders": len(holders[a] & holders[b])}
        for a, b in combinations(sorted(holders), 2)
        if len(holders[a] & holders[b]) >= 2
    ]
    currencies = []
    for currency in sorted(totals):
        ranked = sorted(
            (
                (user, len(paid), sum(paid))
                for (cur, user), paid in spend.items()
                if cur == currency
            ),
            key=lambda row: (-row[2], str(row[0])),
        )
        currencies.append(
            {
                "currency": currency,
                "totals": [
                    {"total": total, "orders": n} for total, n in sorted(totals[currency].items())
                ],
                "top_customers": [
                    {"user_id": user, "orders": n, "spend": paid}
                    for user, n, paid in ranked[:top_customers]
                ],
            }
        )
    return SalesSummary.model_validate(
        {
            "currencies": currencies,
            "days": [
                {"day": day, "currency": cur, "orders": len(paid), "revenue": sum(paid)}
                for (day, cur), paid in sorted(days.items())
            ],
            "product_days": [
                {
                    "day": day,
                    "product_id": product,
                    "currency": cur,
                    "orders": len(cell[0]),
                    "quantity": cell[1],
                    "revenue": cell[2],
                }
                for (day, product, cur), cell in sorted(cells.items())
            ],
            "pairs": pairs,
        }
    ).model_dump()


async def summary(client: httpx.AsyncClient, **extra: Any) -> httpx.Response:
    return await client.get("/orders/sales-summary", params=WINDOW | extra, headers=SERVICE)


async def test_the_summary_is_what_the_export_adds_up_to(
    client: httpx.AsyncClient, catalog: FakeCatalog
) -> None:
    await write_orders(client, catalog)
    orders = await exported(client)
    assert len(orders) == 63
    assert len({order.created_at.astimezone(UTC).date() for order in orders}) == 7
    for top in (10, 2):
        response = await summary(client, top_customers=top)
        assert response.status_code == 200, response.text
        assert SalesSummary.model_validate_json(response.text).model_dump() == summarize(
            orders, top
        )
    body = (await summary(client)).json()
    assert len(body["currencies"]) == 2
    assert body["pairs"]
    assert all(len(c["top_customers"]) == 10 for c in body["currencies"] if c["currency"] == "EUR")
    # The three equal spenders rank by id as text: "100" < "13" < "30".
    eur = body["currencies"][0]["top_customers"]
    assert [c["user_id"] for c in eur[:3]] == [100, 13, 30]


async def test_one_users_summary_holds_only_their_orders(
    client: httpx.AsyncClient, catalog: FakeCatalog
) -> None:
    await write_orders(client, catalog)
    mine = [order for order in await exported(client) if order.user_id == 4]
    response = await summary(client, user_id=4)
    assert response.status_code == 200, response.text
    assert SalesSummary.model_validate_json(response.text).model_dump() == summarize(mine, 10)
    assert [c["user_id"] for c in response.json()["currencies"][0]["top_customers"]] == [4]


async def test_the_summary_is_for_services_and_validates_its_window(
    client: httpx.AsyncClient,
) -> None:
    refused = await client.get("/orders/sales-summary", params=WINDOW, headers=bearer(7))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    empty = await summary(client, until=WINDOW["since"])  # [since, since) holds nothing
    assert empty.json() == {"currencies": [], "days": [], "product_days": [], "pairs": []}
    for bad in (
        {"since": "2026-03-01T00:00:00"},  # no offset
        {"user_id": 0},
        {"user_id": "x"},
        {"top_customers": 0},
        {"top_customers": 101},
    ):
        response = await summary(client, **bad)
        assert response.status_code == 422, bad
        assert response.json()["error"]["code"] == "validation_error"
