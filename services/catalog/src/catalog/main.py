"""Catalog app factory (`python -m mercato_shared.serve` serves it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from catalog.api import reservations_router, router
from catalog.clients import OrdersClient, catalog_tokens
from catalog.config import CatalogSettings
from catalog.periodic import PeriodicJob, running
from catalog.popular import ranking_for, refresh_popular
from catalog.service import CatalogService, ReservationService
from catalog.stack import DEPENDENCIES
from catalog.sweeper import ReservationSweeper
from mercato_shared.app import create_app as create_service_app
from mercato_shared.cache import Cache
from mercato_shared.near_cache import NearCache
from mercato_shared.resources import Resources


def create_app(settings: CatalogSettings | None = None) -> FastAPI:
    """The app; its calls to other services go to the URLs its settings name."""
    settings = settings or CatalogSettings()

    @asynccontextmanager
    async def lifespan(resources: Resources) -> AsyncIterator[Mapping[str, Any]]:
        if resources.redis is None or resources.sessions is None or resources.writes is None:
            msg = "catalog needs its database and Redis"
            raise RuntimeError(msg)
        near = NearCache(
            resources.redis,
            namespace="catalog",
            ttl_seconds=settings.cache_local_ttl_seconds,
            max_entries=settings.cache_local_max_entries,
        )
        cache = Cache(
            resources.redis,
            namespace="catalog",
            ttl_seconds=settings.cache_ttl_seconds,
            near=near,
        )
        ranking = ranking_for(resources.redis, settings)
        reservations = ReservationService(resources.sessions, resources.writes, cache)
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(near.listening())
            if settings.periodic_jobs:
                orders = OrdersClient(
                    resources.http, catalog_tokens(resources.http, settings), settings
                )
                sweeper = ReservationSweeper(
                    resources.sessions, resources.writes, cache, orders, settings
                )
                jobs = [
                    PeriodicJob(
                        "popular-products",
                        settings.popular_refresh_seconds,
                        lambda: refresh_popular(orders, ranking, settings),
                    ),
                    PeriodicJob(
                        "reservation-sweeper", settings.reservation_sweep_seconds, sweeper.sweep
                    ),
                ]
                await stack.enter_async_context(running(jobs, resources.redis))
            yield {
                "catalog_service": CatalogService(
                    resources.sessions, resources.writes, cache, ranking
                ),
                "reservations": reservations,
                "public_max_age": settings.public_max_age_seconds,
            }

    return create_service_app(
        settings,
        title="Mercato catalog",
        description="Products of the shop, cached in process and in Redis, stored in Postgres.",
        routers=[router, reservations_router],
        dependencies=DEPENDENCIES,
        lifespan=lifespan,
    )
