"""A stand-in for identity's token endpoint and the orders export, for worker tests.

It serves deterministic orders over HTTP exactly in the export's contract, so the worker's
real client (tokens, paging, retries, timeouts) is exercised; `UPSTREAM_PAGE_DELAY` slows
every page down so a test can kill a worker in the middle of a job.
Run: `uvicorn --app-dir workers/tests/integration upstream:create_app --factory`.
"""

from __future__ import annotations

import asyncio
import os
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import FastAPI, Form, Header, HTTPException, Query

ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)


def generate_orders(count: int, days: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    orders = []
    for number in range(1, count + 1):
        lines = [
            (rng.randint(1, 60), rng.randint(1, 3), Decimal(rng.randint(100, 9000)) / 100)
            for _ in range(rng.randint(1, 4))
        ]
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
                "currency": "EUR",
                "total": str(total),
                "created_at": created.isoformat(),
                "items": items,
            }
        )
    orders.sort(key=lambda o: (o["created_at"], o["id"]))
    return orders


def create_app() -> FastAPI:
    orders = generate_orders(int(os.environ.get("UPSTREAM_ORDERS", "600")), days=30)
    delay = float(os.environ.get("UPSTREAM_PAGE_DELAY", "0"))
    app = FastAPI()
    # What each export request asked for (a test checks the filter went to the server).
    app.state.export_queries = []

    @app.post("/token")
    async def token(grant_type: Annotated[str, Form()]) -> dict[str, Any]:
        assert grant_type == "client_credentials"
        return {"access_token": "stand-in", "token_type": "bearer", "expires_in": 900}

    @app.get("/orders/export")
    async def export(
        since: datetime,
        until: datetime,
        authorization: Annotated[str | None, Header()] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 500,
        cursor: str | None = None,
        user_id: int | None = None,
    ) -> dict[str, Any]:
        if authorization != "Bearer stand-in":
            raise HTTPException(401)
        await asyncio.sleep(delay)
        app.state.export_queries.append({"user_id": user_id})
        chosen = [
            o
            for o in orders
            if since <= datetime.fromisoformat(o["created_at"]) < until
            and user_id in (None, o["user_id"])
        ]
        start = int(cursor or 0)
        page = chosen[start : start + limit]
        more = start + limit < len(chosen)
        return {"items": page, "next_cursor": str(start + limit) if more else None}

    return app
