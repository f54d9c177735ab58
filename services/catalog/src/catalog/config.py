"""Catalog settings."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, PositiveFloat

from mercato_shared.settings import BaseServiceSettings


class CatalogSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "catalog"
    database_name: ClassVar[str | None] = "catalog"

    # The in-process copy of the product cache (mercato_shared.near_cache): entries are
    # dropped in every process when a write invalidates them; the TTL bounds a copy only if
    # a process's invalidation channel died without an error.
    cache_local_ttl_seconds: PositiveFloat = 10.0
    cache_local_max_entries: int = Field(default=10_000, ge=1)
    # `Cache-Control: public, max-age=N` on product reads and lists: how long a browser, a
    # CDN or the gateway's micro-cache may answer from its copy (0: must revalidate).
    public_max_age_seconds: int = Field(default=1, ge=0, le=3600)
