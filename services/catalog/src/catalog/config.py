"""Catalog settings: its own data, and the periodic jobs that read orders' export."""

from __future__ import annotations

from typing import ClassVar, Final

from pydantic import Field, PositiveFloat, PositiveInt

from catalog.stack import DEFAULT_URLS
from mercato_shared.settings import BaseServiceSettings

DEV_CLIENT_SECRET: Final = "catalog-dev-secret"  # noqa: S105 - refused in production


class CatalogSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "catalog"
    database_name: ClassVar[str | None] = "catalog"
    development_defaults: ClassVar[tuple[str, ...]] = (
        *BaseServiceSettings.development_defaults,
        "catalog_client_secret",
    )

    # Catalog's machine credentials: its periodic jobs read orders' API with a service token.
    identity_url: str = DEFAULT_URLS["identity"]
    orders_url: str = DEFAULT_URLS["orders"]
    catalog_client_id: str = Field(default="catalog", min_length=1, max_length=64)
    catalog_client_secret: str = Field(default=DEV_CLIENT_SECRET, min_length=16, max_length=256)
    orders_timeout: PositiveFloat = Field(default=5.0, le=60.0)
    orders_page_size: PositiveInt = Field(default=500, le=1000)

    # The periodic jobs (catalog.periodic): off only in tests that drive the jobs themselves.
    periodic_jobs: bool = True
    popular_refresh_seconds: PositiveFloat = Field(default=300.0, ge=5.0)
    popular_days: PositiveInt = Field(default=7, le=90)
    popular_size: PositiveInt = Field(default=100, le=1000)
    reservation_ttl_seconds: PositiveInt = Field(default=900, ge=60, le=7 * 86_400)
    reservation_sweep_seconds: PositiveFloat = Field(default=60.0, ge=5.0)
    reservation_sweep_batch: PositiveInt = Field(default=200, le=1000)
    # The in-process copy of the product cache (mercato_shared.near_cache): entries are
    # dropped in every process when a write invalidates them; the TTL bounds a copy only if
    # a process's invalidation channel died without an error.
    cache_local_ttl_seconds: PositiveFloat = 10.0
    cache_local_max_entries: int = Field(default=10_000, ge=1)
    # `Cache-Control: public, max-age=N` on product reads and lists: how long a browser, a
    # CDN or the gateway's micro-cache may answer from its copy (0: must revalidate).
    public_max_age_seconds: int = Field(default=1, ge=0, le=3600)
