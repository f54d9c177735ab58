"""A typed client for the orders service's export: keyset pages of orders with their items.

The workers never read the orders database; they page through `GET /orders/export` with
their own `service` token, through the shared `InternalClient`: each page is an idempotent
GET with `ORDERS_TIMEOUT` per attempt, retried with jittered backoff on transport errors,
timeouts and 5xx answers within `ORDERS_DEADLINE`. A page that cannot be had raises
`UpstreamUnavailableError`, which the job treats as transient (the run is given back and
retried); another 4xx fails the job.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal

import aiohttp
from pydantic import BaseModel, field_validator

from mercato_shared.internal_client import InternalClient
from mercato_shared.service_tokens import ServiceTokens
from workers.config import WorkerSettings
from workers.sales_report import Order, OrderLine, to_cents


class ExportItem(BaseModel):
    product_id: int
    quantity: int
    unit_price: Decimal


class ExportOrder(BaseModel):
    id: str
    user_id: str
    created_at: datetime
    total: Decimal
    currency: str
    items: list[ExportItem]

    @field_validator("id", "user_id", mode="before")
    @classmethod
    def _as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

    def to_order(self) -> Order:
        return Order(
            id=self.id,
            user_id=self.user_id,
            created_at=self.created_at,
            total_cents=to_cents(self.total),
            currency=self.currency,
            lines=tuple(
                OrderLine(item.product_id, item.quantity, to_cents(item.unit_price))
                for item in self.items
            ),
        )


class ExportPage(BaseModel):
    items: list[ExportOrder]
    next_cursor: str | None = None


class OrdersClient:
    def __init__(
        self, http: aiohttp.ClientSession, tokens: ServiceTokens, settings: WorkerSettings
    ) -> None:
        self._settings = settings
        self._orders = InternalClient.without_breaker(
            http,
            service="orders",
            base_url=settings.orders_url,
            timeout_seconds=settings.orders_timeout,
            attempts=settings.orders_retry_attempts,
            deadline_seconds=settings.orders_deadline,
            backoff_seconds=(0.2, 5.0),
            tokens=tokens,
        )

    async def export(
        self, *, since: datetime, until: datetime, user_id: str | None = None
    ) -> AsyncIterator[Order]:
        """Every order created in `[since, until)` (of one user, if given), page by page.

        One user's orders are chosen by the export itself (`user_id`, on its own index), so a
        purchases report reads that customer's orders only, however large the shop. A user
        id that is not a number (a machine client's) has no orders.
        """
        if user_id is not None and not user_id.isdigit():
            return
        cursor: str | None = None
        while True:
            params = {
                "since": since.isoformat(),
                "until": until.isoformat(),
                "limit": str(self._settings.orders_page_size),
            }
            if user_id is not None:
                params["user_id"] = user_id
            if cursor is not None:
                params["cursor"] = cursor
            page = await self._page(params)
            for order in page.items:
                yield order.to_order()
            if page.next_cursor is None or not page.items:
                return
            cursor = page.next_cursor

    async def _page(self, params: dict[str, str]) -> ExportPage:
        response = await self._orders.get("/orders/export", params=params)
        response.raise_for_status()  # a 4xx other than a stale token: the job fails
        return ExportPage.model_validate_json(response.content)
