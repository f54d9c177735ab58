"""Catalog app factory: `uvicorn catalog.main:create_app --factory`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from catalog.api import router
from catalog.config import CatalogSettings
from catalog.reservations_api import router as reservations_router
from mercato_shared.app import create_app as create_service_app
from mercato_shared.cache import Cache
from mercato_shared.resources import Resources


def create_app(settings: CatalogSettings | None = None) -> FastAPI:
    settings = settings or CatalogSettings()

    @asynccontextmanager
    async def lifespan(resources: Resources) -> AsyncIterator[Mapping[str, Any]]:
        yield {
            "product_cache": Cache(
                resources.require_redis(),
                namespace="catalog",
                ttl_seconds=settings.cache_ttl_seconds,
            )
        }

    return create_service_app(
        settings,
        title="Mercato catalog",
        description="Products of the shop, cached in Redis, stored in Postgres.",
        routers=[router, reservations_router],
        lifespan=lifespan,
    )
