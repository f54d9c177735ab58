"""Catalog app factory: `uvicorn catalog.main:create_app --factory`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from catalog.api import router
from catalog.config import CatalogSettings
from catalog.reservations_api import router as reservations_router
from catalog.service import CatalogService
from mercato_shared.app import create_app as create_service_app
from mercato_shared.cache import Cache
from mercato_shared.near_cache import NearCache
from mercato_shared.resources import Resources


def create_app(settings: CatalogSettings | None = None) -> FastAPI:
    settings = settings or CatalogSettings()

    @asynccontextmanager
    async def lifespan(resources: Resources) -> AsyncIterator[Mapping[str, Any]]:
        assert resources.redis is not None
        assert resources.sessions is not None
        near = NearCache(
            resources.redis,
            channel="catalog:invalidations",
            ttl_seconds=settings.cache_local_ttl_seconds,
            max_entries=settings.cache_local_max_entries,
        )
        cache = Cache(
            resources.redis,
            namespace="catalog",
            ttl_seconds=settings.cache_ttl_seconds,
            near=near,
        )
        async with near.listening():
            yield {
                "product_cache": cache,
                "catalog_service": CatalogService(resources.sessions, cache),
                "public_max_age": settings.public_max_age_seconds,
            }

    return create_service_app(
        settings,
        title="Mercato catalog",
        description="Products of the shop, cached in process and in Redis, stored in Postgres.",
        routers=[router, reservations_router],
        lifespan=lifespan,
    )
