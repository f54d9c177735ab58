"""A typed client for the orders service's sales summary, what a report reads of orders.

The workers never read the orders database; they ask `GET /orders/sales-summary` with their
own `service` token, through the shared `InternalClient`: an idempotent GET with
`ORDERS_TIMEOUT` per attempt, retried with jittered backoff on transport errors, timeouts and
5xx answers within `ORDERS_DEADLINE`. A summary that cannot be had raises
`UpstreamUnavailableError`, which the job treats as transient (the run is given back and
retried); another 4xx fails the job.
"""

from __future__ import annotations

from datetime import datetime

import aiohttp

from mercato_shared.internal_client import InternalClient
from mercato_shared.service_tokens import ServiceTokens
from workers.config import WorkerSettings
from workers.sales_report import TOP_CUSTOMERS
from workers.sales_summary import SalesSummary


class OrdersClient:
    def __init__(
        self, http: aiohttp.ClientSession, tokens: ServiceTokens, settings: WorkerSettings
    ) -> None:
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

    async def sales_summary(
        self, *, since: datetime, until: datetime, user_id: str | None = None
    ) -> SalesSummary:
        """What a report reads of the orders created in `[since, until)` (of one user, if
        given), aggregated by orders: one call whatever the number of orders.

        One user's orders are chosen by orders itself (`user_id`, on its own index), so a
        purchases report reads that customer's orders only, however large the shop. A user
        id that is not a number (a machine client's) has no orders.
        """
        if user_id is not None and not user_id.isdigit():
            return SalesSummary()
        params = {
            "since": since.isoformat(),
            "until": until.isoformat(),
            "top_customers": str(TOP_CUSTOMERS),
        }
        if user_id is not None:
            params["user_id"] = user_id
        response = await self._orders.get("/orders/sales-summary", params=params)
        response.raise_for_status()  # a 4xx other than a stale token: the job fails
        return SalesSummary.model_validate_json(response.content)
