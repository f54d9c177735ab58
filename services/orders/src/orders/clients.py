"""Orders' typed catalog client (stock reservations), authenticated with its service token.

Every call has a deadline (`CATALOG_TIMEOUT`). Only idempotent calls are retried, with
jittered backoff (stamina), on transport errors and 502/503/504: the reservation POST is
idempotent because it carries the reservation id, which catalog never applies twice.
Failures map onto the error shape: catalog unreachable, slow or failing -> 503
`dependency_unavailable`; catalog's 409 `out_of_stock` and 422 `unknown_product` pass
through with their codes. Nothing here turns into a 500.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final

import httpx
import stamina
from pydantic import BaseModel, ValidationError

from mercato_shared.errors import DependencyUnavailableError
from mercato_shared.service_tokens import ServiceTokens
from orders.config import OrdersSettings
from orders.errors import OutOfStockError, UnknownProductError

_RETRY_STATUSES: Final = frozenset({502, 503, 504})


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


class _RetryableStatusError(Exception):
    """A 502/503/504 worth another attempt."""


class CatalogClient:
    def __init__(
        self, http: httpx.AsyncClient, tokens: ServiceTokens, settings: OrdersSettings
    ) -> None:
        self._http = http
        self._tokens = tokens
        self._base = settings.catalog_url
        self._timeout = settings.catalog_timeout
        self._attempts = settings.catalog_retry_attempts

    async def reserve(
        self, reservation_id: uuid.UUID, lines: Sequence[tuple[int, int]]
    ) -> Reservation:
        body = {
            "id": str(reservation_id),
            "lines": [{"product_id": pid, "quantity": qty} for pid, qty in lines],
        }
        response = await self._send("POST", "/reservations", json=body)
        if response.status_code in (200, 201):
            try:
                return Reservation.model_validate_json(response.content)
            except ValidationError as exc:
                raise DependencyUnavailableError("Catalog answered unexpectedly.") from exc
        error = _error_of(response)
        if response.status_code == 409 and error.get("code") == "out_of_stock":
            raise OutOfStockError(str(error.get("message", "Not enough stock.")))
        if response.status_code == 422 and error.get("code") == "unknown_product":
            raise UnknownProductError(str(error.get("message", "Unknown product.")))
        if response.status_code == 409 and error.get("code") == "reservation_conflict":
            raise ReservationReleasedError
        raise DependencyUnavailableError("Catalog refused the stock reservation.")

    async def release(self, reservation_id: uuid.UUID) -> None:
        response = await self._send("DELETE", f"/reservations/{reservation_id}")
        if response.status_code != 204:
            raise DependencyUnavailableError("Catalog refused to release a reservation.")

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            async for attempt in stamina.retry_context(
                on=(httpx.TransportError, _RetryableStatusError),
                attempts=self._attempts,
                timeout=self._timeout * self._attempts,
                wait_initial=0.05,
                wait_max=0.5,
            ):
                with attempt:
                    response = await self._authorized(method, path, **kwargs)
                    if response.status_code in _RETRY_STATUSES:
                        raise _RetryableStatusError
        except (httpx.TransportError, _RetryableStatusError) as exc:
            raise DependencyUnavailableError("The catalog service is unavailable.") from exc
        return response

    async def _authorized(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for _ in range(2):
            token = await self._tokens.get()
            response = await self._http.request(
                method,
                f"{self._base}{path}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=self._timeout,
                **kwargs,
            )
            if response.status_code != 401:
                return response
            self._tokens.forget()  # rotated signing key or expired early: fetch once more
        return response


def _error_of(response: httpx.Response) -> dict[str, Any]:
    try:
        error = response.json().get("error", {})
    except ValueError:
        return {}
    return error if isinstance(error, dict) else {}
