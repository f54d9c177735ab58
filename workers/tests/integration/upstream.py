"""A stand-in for identity's token endpoint and orders' sales summary, for worker tests.

It serves the summary of deterministic orders over HTTP exactly in the contract of
`GET /orders/sales-summary`, summed here in Python (`summarize`, also the unit tests' way
from raw orders to a summary), so the worker's real client (tokens, retries, timeouts) is
exercised; `UPSTREAM_DELAY` slows every answer down so a test can kill a worker in the
middle of a job.
Run: `uvicorn --app-dir workers/tests/integration upstream:create_app --factory`.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import combinations
from typing import Annotated, Any

from fastapi import FastAPI, Form, Header, HTTPException, Query

ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)


CURRENCIES = ("EUR", "EUR", "EUR", "USD", "GBP")


def generate_orders(count: int, days: int, seed: int = 7) -> list[dict[str, Any]]:
    """Orders in the export's shape: several currencies, days and users, one to four lines
    (a product may come back in a later line of the same order)."""
    rng = random.Random(seed)
    orders = []
    for number in range(1, count + 1):
        lines = [
            (rng.randint(1, 60), rng.randint(1, 3), Decimal(rng.randint(100, 9000)) / 100)
            for _ in range(rng.randint(1, 4))
        ]
        if rng.random() < 0.1:
            lines.append((lines[0][0], 1, lines[0][2]))
        items = [
            {"product_id": p, "name": "thing", "quantity": q, "unit_price": str(price)}
            for p, q, price in lines
        ]
        total = sum((price * q for _, q, price in lines), Decimal(0))
        created = ORIGIN + timedelta(seconds=rng.randint(0, days * 86_400 - 1))
        orders.append(
            {
                "id": number,
                "user_id": rng.randint(1, 40),
                "status": "confirmed",
                "currency": rng.choice(CURRENCIES),
                "total": str(total),
                "created_at": created.isoformat(),
                "items": items,
            }
        )
    orders.sort(key=lambda o: (o["created_at"], o["id"]))
    return orders


def summarize(orders: Sequence[dict[str, Any]], top_customers: int = 10) -> dict[str, Any]:
    """The sales summary orders answers for these orders (the export's shape), as JSON."""
    totals: dict[str, Counter[Decimal]] = defaultdict(Counter)
    spend: dict[str, dict[str, list[Decimal]]] = defaultdict(lambda: defaultdict(list))
    days: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    cells: dict[tuple[str, int, str], list[Any]] = defaultdict(lambda: [set(), 0, Decimal(0)])
    holders: dict[int, set[int]] = defaultdict(set)
    for order in orders:
        total, currency = Decimal(order["total"]), order["currency"]
        day = datetime.fromisoformat(order["created_at"]).astimezone(UTC).date().isoformat()
        totals[currency][total] += 1
        spend[currency][str(order["user_id"])].append(total)
        days[(day, currency)].append(total)
        for item in order["items"]:
            quantity, price = item["quantity"], Decimal(item["unit_price"])
            cell = cells[(day, item["product_id"], currency)]
            cell[0].add(order["id"])
            cell[1] += quantity
            cell[2] += quantity * price
            holders[item["product_id"]].add(order["id"])
    currencies = []
    for currency in sorted(totals):
        ranked = sorted(spend[currency].items(), key=lambda row: (-sum(row[1]), row[0]))
        currencies.append(
            {
                "currency": currency,
                "totals": [
                    {"total": str(total), "orders": n}
                    for total, n in sorted(totals[currency].items())
                ],
                "top_customers": [
                    {"user_id": user, "orders": len(paid), "spend": str(sum(paid))}
                    for user, paid in ranked[:top_customers]
                ],
            }
        )
    together = ((a, b, len(holders[a] & holders[b])) for a, b in combinations(sorted(holders), 2))
    return {
        "currencies": currencies,
        "days": [
            {"day": day, "currency": currency, "orders": len(paid), "revenue": str(sum(paid))}
            for (day, currency), paid in sorted(days.items())
        ],
        "product_days": [
            {
                "day": day,
                "product_id": product,
                "currency": currency,
                "orders": len(cell[0]),
                "quantity": cell[1],
                "revenue": str(cell[2]),
            }
            for (day, product, currency), cell in sorted(cells.items())
        ],
        "pairs": [{"products": [a, b], "orders": n} for a, b, n in together if n >= 2],
    }


def create_app() -> FastAPI:
    orders = generate_orders(int(os.environ.get("UPSTREAM_ORDERS", "600")), days=30)
    delay = float(os.environ.get("UPSTREAM_DELAY", "0"))
    app = FastAPI()
    # What each summary request asked for (a test checks the filter went to the server).
    app.state.summary_queries = []

    @app.post("/token")
    async def token(grant_type: Annotated[str, Form()]) -> dict[str, Any]:
        assert grant_type == "client_credentials"
        return {"access_token": "stand-in", "token_type": "bearer", "expires_in": 900}

    @app.get("/orders/sales-summary")
    async def sales_summary(
        since: datetime,
        until: datetime,
        authorization: Annotated[str | None, Header()] = None,
        user_id: int | None = None,
        top_customers: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> dict[str, Any]:
        if authorization != "Bearer stand-in":
            raise HTTPException(401)
        await asyncio.sleep(delay)
        app.state.summary_queries.append({"user_id": user_id})
        chosen = [
            o
            for o in orders
            if since <= datetime.fromisoformat(o["created_at"]) < until
            and user_id in (None, o["user_id"])
        ]
        return summarize(chosen, top_customers)

    return app
