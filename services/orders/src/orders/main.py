"""Orders app factory (`python -m mercato_shared.serve` serves it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from mercato_shared.app import create_app as create_service_app
from mercato_shared.background import in_background
from mercato_shared.resources import Resources
from orders.api import router
from orders.clients import catalog_client
from orders.config import OrdersSettings
from orders.service import Claims, OrderService, run_cleanup
from orders.stack import DEPENDENCIES


def create_app(settings: OrdersSettings | None = None) -> FastAPI:
    """The app; its calls to other services go to the URLs its settings name."""
    settings = settings or OrdersSettings()

    @asynccontextmanager
    async def lifespan(resources: Resources) -> AsyncIterator[Mapping[str, Any]]:
        if resources.engine is None or resources.sessions is None or resources.writes is None:
            msg = "orders needs its database (POSTGRES_URL)"
            raise RuntimeError(msg)
        claims = Claims(resources.engine, settings)
        catalog = catalog_client(resources.http, settings)
        service = OrderService(resources.sessions, resources.writes, catalog, claims)
        cleanup = run_cleanup(claims, settings.idempotency_cleanup_interval_seconds)
        async with in_background(cleanup, name="idempotency-key-cleanup"):
            yield {"order_service": service}

    return create_service_app(
        settings,
        title="Mercato orders",
        description="Orders with stock reserved in catalog; idempotent creation.",
        routers=[router],
        dependencies=DEPENDENCIES,
        lifespan=lifespan,
    )
