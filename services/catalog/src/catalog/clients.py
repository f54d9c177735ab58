"""Catalog's typed client for orders' API, used only by its periodic jobs.

* `export(since, until)`: every order line sold in the window (`GET /orders/export`, keyset
  pages), for the popular-products ranking;
* `ordered(ids)`: which reservation ids an order was written with
  (`POST /orders/reservation-lookup`), for the reservation sweeper.

Both are reads, sent through the shared `InternalClient` with catalog's own service token
(client credentials at identity; a 401 fetches a new token once). Every call has a deadline
(`ORDERS_TIMEOUT`). There are no retries (one attempt): a job that fails is run again in its
next period, and a failure changes nothing (the ranking stays as it was, no reservation is
released). Any failure of orders is `OrdersUnavailableError`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Collection
from datetime import datetime
from typing import TypeVar

import aiohttp
from pydantic import BaseModel, ValidationError

from catalog.config import CatalogSettings
from mercato_shared.errors import DependencyUnavailableError
from mercato_shared.internal_client import (
    InternalClient,
    JsonBody,
    Params,
    UpstreamUnavailableError,
)
from mercato_shared.reply import Reply
from mercato_shared.service_tokens import ServiceTokens

ModelT = TypeVar("ModelT", bound=BaseModel)


class OrdersUnavailableError(DependencyUnavailableError):
    """Orders (or identity, for the token) did not answer usefully."""


class SoldLine(BaseModel):
    product_id: int
    quantity: int


class _ExportOrder(BaseModel):
    items: list[SoldLine]


class _ExportPage(BaseModel):
    items: list[_ExportOrder]
    next_cursor: str | None = None


class _Ordered(BaseModel):
    ordered: list[uuid.UUID]


def catalog_tokens(http: aiohttp.ClientSession, settings: CatalogSettings) -> ServiceTokens:
    """Catalog's own token for calling orders (client credentials against identity)."""
    return ServiceTokens(
        http,
        identity_url=settings.identity_url,
        client_id=settings.catalog_client_id,
        client_secret=settings.catalog_client_secret,
        timeout=settings.orders_timeout,
    )


class OrdersClient:
    def __init__(
        self, http: aiohttp.ClientSession, tokens: ServiceTokens, settings: CatalogSettings
    ) -> None:
        self._orders = InternalClient.without_breaker(
            http,
            service="orders",
            base_url=settings.orders_url,
            timeout_seconds=settings.orders_timeout,
            attempts=1,
            deadline_seconds=settings.orders_timeout,
            backoff_seconds=(0, 0),
            tokens=tokens,
        )
        self._page_size = settings.orders_page_size

    async def export(self, *, since: datetime, until: datetime) -> AsyncIterator[SoldLine]:
        """Every line of every order created in `[since, until)`, page by page."""
        cursor: str | None = None
        while True:
            params = {"since": since.isoformat(), "until": until.isoformat()}
            params["limit"] = str(self._page_size)
            if cursor is not None:
                params["cursor"] = cursor
            page = _parse(_ExportPage, await self._send("GET", "/orders/export", params=params))
            for order in page.items:
                for line in order.items:
                    yield line
            if page.next_cursor is None or not page.items:
                return
            cursor = page.next_cursor

    async def ordered(self, reservation_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
        """The subset of `reservation_ids` that orders wrote an order with."""
        body = {"reservation_ids": [str(rid) for rid in reservation_ids]}
        response = await self._send("POST", "/orders/reservation-lookup", json=body)
        return set(_parse(_Ordered, response).ordered)

    async def _send(
        self, method: str, path: str, *, params: Params | None = None, json: JsonBody | None = None
    ) -> Reply:
        try:
            response = await self._orders.request(
                method, path, idempotent=True, params=params, json=json
            )
        except UpstreamUnavailableError as exc:
            raise OrdersUnavailableError("The orders service is unavailable.") from exc
        if response.status_code != 200:
            msg = f"The orders service answered {method} {path} with {response.status_code}."
            raise OrdersUnavailableError(msg)
        return response


def _parse(model: type[ModelT], response: Reply) -> ModelT:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise OrdersUnavailableError("The orders service answered unexpectedly.") from exc
