"""A fake of the orders API catalog's periodic jobs call, and identity's token endpoint.

Orders' side of the contract (`GET /orders/export`, keyset pages of the orders created in
`[since, until)`; `POST /orders/reservation-lookup`, the reservation ids an order was
written with), each behind a `service` token from (fake) identity. Both are served on
loopback sockets, so catalog's jobs reach them with their own `OrdersClient` and token, as
in production; the orders themselves are what a test adds.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import FastAPI, Query
from pydantic import BaseModel

from mercato_shared.testing.fakes import ServiceCaller, fake_identity
from mercato_shared.testing.loopback import serve_on_loopback

UNIT_PRICE = Decimal("10.00")


class ReservationLookup(BaseModel):
    reservation_ids: list[uuid.UUID]


@dataclass
class FakeOrders:
    """The orders written so far (oldest first) and the URLs of orders and identity."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    orders_url: str = ""
    identity_url: str = ""

    async def add_order(
        self,
        created_at: datetime,
        lines: Sequence[tuple[int, int]],
        reservation_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """An order of lines of (product, units), written with `reservation_id`."""
        reservation_id = reservation_id or uuid.uuid4()
        items = [
            {"product_id": pid, "name": "Thing", "quantity": units, "unit_price": str(UNIT_PRICE)}
            for pid, units in lines
        ]
        self.orders.append(
            {
                "id": len(self.orders) + 1,
                "user_id": 2,
                "status": "confirmed",
                "currency": "EUR",
                "total": str(UNIT_PRICE * sum(units for _, units in lines)),
                "created_at": created_at.isoformat(),
                "items": items,
                "reservation_id": reservation_id,
            }
        )
        return reservation_id

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/orders/export")
        async def export(
            _caller: ServiceCaller,
            since: datetime,
            until: datetime,
            limit: Annotated[int, Query(ge=1, le=1000)] = 500,
            cursor: str | None = None,
        ) -> dict[str, Any]:
            chosen = [
                {k: v for k, v in order.items() if k != "reservation_id"}
                for order in sorted(self.orders, key=lambda o: (o["created_at"], o["id"]))
                if since <= datetime.fromisoformat(order["created_at"]) < until
            ]
            start = int(cursor or 0)
            more = start + limit < len(chosen)
            return {
                "items": chosen[start : start + limit],
                "next_cursor": str(start + limit) if more else None,
            }

        @app.post("/orders/reservation-lookup")
        async def lookup(_caller: ServiceCaller, body: ReservationLookup) -> dict[str, Any]:
            written = {order["reservation_id"] for order in self.orders}
            return {"ordered": [str(rid) for rid in body.reservation_ids if rid in written]}

        return app


@asynccontextmanager
async def fake_orders() -> AsyncIterator[FakeOrders]:
    upstream = FakeOrders()
    async with (
        serve_on_loopback(fake_identity()) as identity_url,
        serve_on_loopback(upstream.app()) as orders_url,
    ):
        upstream.identity_url, upstream.orders_url = identity_url, orders_url
        yield upstream
