"""Orders' typed catalog client (stock reservations), authenticated with its service token.

Calls go through the shared `InternalClient` (base URL, service token refreshed on 401,
`CATALOG_TIMEOUT` per attempt, retries within `CATALOG_DEADLINE`). Both calls are
idempotent, so both are retried: the reservation POST carries the reservation id, which
catalog never applies twice, and releasing a released reservation changes nothing.
Failures map onto the error shape: catalog unreachable, slow or failing -> 503
`dependency_unavailable`; catalog's 409 `out_of_stock` and 409 `unknown_product` pass
through with their codes. Nothing here turns into a 500.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal

import aiohttp
from pydantic import BaseModel, ValidationError

from mercato_shared.errors import DependencyUnavailableError
from mercato_shared.internal_client import InternalClient, error_of
from orders.config import OrdersSettings, service_tokens
from orders.errors import OutOfStockError, UnknownProductError


class ReservedLine(BaseModel):
    product_id: int
    quantity: int
    unit_price: Decimal
    currency: str
    name: str


class Reservation(BaseModel):
    id: uuid.UUID
    lines: list[ReservedLine]


class ReservationReleasedError(Exception):
    """Catalog's 409 `reservation_conflict`: this reservation id was released already."""


class CatalogClient:
    def __init__(self, catalog: InternalClient) -> None:
        self._catalog = catalog

    async def reserve(
        self, reservation_id: uuid.UUID, lines: Sequence[tuple[int, int]]
    ) -> Reservation:
        body = {
            "id": str(reservation_id),
            "lines": [{"product_id": pid, "quantity": qty} for pid, qty in lines],
        }
        response = await self._catalog.request("POST", "/reservations", json=body, idempotent=True)
        if response.status_code in (200, 201):
            try:
                return Reservation.model_validate_json(response.content)
            except ValidationError as exc:
                raise DependencyUnavailableError("Catalog answered unexpectedly.") from exc
        error = error_of(response)
        if response.status_code == 409 and error.get("code") == "out_of_stock":
            raise OutOfStockError(str(error.get("message", "Not enough stock.")))
        if response.status_code == 409 and error.get("code") == "unknown_product":
            raise UnknownProductError(str(error.get("message", "Unknown product.")))
        if response.status_code == 409 and error.get("code") == "reservation_conflict":
            raise ReservationReleasedError
        raise DependencyUnavailableError("Catalog refused the stock reservation.")

    async def release(self, reservation_id: uuid.UUID) -> None:
        response = await self._catalog.request(
            "DELETE", f"/reservations/{reservation_id}", idempotent=True
        )
        if response.status_code != 204:
            raise DependencyUnavailableError("Catalog refused to release a reservation.")


def catalog_client(http: aiohttp.ClientSession, settings: OrdersSettings) -> CatalogClient:
    """Orders' catalog client over the process's shared HTTP session (no breaker)."""
    catalog = InternalClient.without_breaker(
        http,
        service="catalog",
        base_url=settings.catalog_url,
        timeout_seconds=settings.catalog_timeout,
        attempts=settings.catalog_retry_attempts,
        deadline_seconds=settings.catalog_deadline,
        backoff_seconds=(0.05, 0.5),
        tokens=service_tokens(http, settings),
    )
    return CatalogClient(catalog)
