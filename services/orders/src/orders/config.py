"""Orders settings: where catalog and identity are, and orders' own machine credentials."""

from __future__ import annotations

from typing import ClassVar, Final

import aiohttp
from pydantic import Field, PositiveFloat

from mercato_shared.service_tokens import ServiceTokens
from mercato_shared.settings import BaseServiceSettings
from orders.stack import DEFAULT_URLS

DEV_CLIENT_SECRET: Final = "orders-dev-secret"  # noqa: S105 - refused in production


class OrdersSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "orders"
    database_name: ClassVar[str | None] = "orders"
    development_defaults: ClassVar[tuple[str, ...]] = (
        *BaseServiceSettings.development_defaults,
        "orders_client_secret",
    )

    catalog_url: str = DEFAULT_URLS["catalog"]
    identity_url: str = DEFAULT_URLS["identity"]
    orders_client_id: str = "orders"
    orders_client_secret: str = Field(default=DEV_CLIENT_SECRET, min_length=16)
    catalog_timeout: PositiveFloat = 3.0
    catalog_retry_attempts: int = Field(default=3, ge=1, le=5)
    # An unfinished Idempotency-Key claim is a lease of this many seconds, renewed by its
    # request every third of it: a request that died frees its key within this time.
    idempotency_lease_seconds: float = Field(default=10.0, ge=1.0, le=300.0)
    # A key (and the answer it replays) is kept this long, then deleted by the cleanup that
    # runs every IDEMPOTENCY_CLEANUP_INTERVAL_SECONDS; an older key is as good as unused.
    idempotency_key_retention_hours: float = Field(default=24.0, gt=0, le=24.0 * 90)
    idempotency_cleanup_interval_seconds: float = Field(default=300.0, ge=1.0)
    # One catalog call, retries and backoff included, never takes longer than this.
    catalog_deadline: PositiveFloat = 9.0


def service_tokens(http: aiohttp.ClientSession, settings: OrdersSettings) -> ServiceTokens:
    """Orders' own token for calling catalog (client credentials against identity)."""
    return ServiceTokens(
        http,
        identity_url=settings.identity_url,
        client_id=settings.orders_client_id,
        client_secret=settings.orders_client_secret,
        timeout=settings.catalog_timeout,
    )
