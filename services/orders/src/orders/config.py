"""Orders settings: where catalog and identity are, and orders' own machine credentials."""

from __future__ import annotations

from typing import ClassVar, Final

import httpx
from pydantic import Field, PositiveFloat

from mercato_shared.service_tokens import ServiceTokens
from mercato_shared.settings import BaseServiceSettings

DEV_CLIENT_SECRET: Final = "orders-dev-secret"  # noqa: S105 - refused in production


class OrdersSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "orders"
    database_name: ClassVar[str | None] = "orders"
    development_defaults: ClassVar[tuple[str, ...]] = (
        *BaseServiceSettings.development_defaults,
        "orders_client_secret",
    )

    catalog_url: str = "http://127.0.0.1:8002"
    identity_url: str = "http://127.0.0.1:8001"
    orders_client_id: str = "orders"
    orders_client_secret: str = Field(default=DEV_CLIENT_SECRET, min_length=16)
    catalog_timeout: PositiveFloat = 3.0
    catalog_retry_attempts: int = Field(default=3, ge=1, le=5)
    # One catalog call, retries and backoff included, never takes longer than this.
    catalog_deadline: PositiveFloat = 9.0


def service_tokens(http: httpx.AsyncClient, settings: OrdersSettings) -> ServiceTokens:
    """Orders' own token for calling catalog (client credentials against identity)."""
    return ServiceTokens(
        http,
        identity_url=settings.identity_url,
        client_id=settings.orders_client_id,
        client_secret=settings.orders_client_secret,
        timeout=settings.catalog_timeout,
    )
