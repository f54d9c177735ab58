"""Orders app factory: `uvicorn orders.main:create_app --factory`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import FastAPI

from mercato_shared.app import create_app as create_service_app
from mercato_shared.resources import Resources
from orders.api import router
from orders.claims import Claims, run_cleanup
from orders.clients import CatalogClient
from orders.config import OrdersSettings, service_tokens


def create_app(settings: OrdersSettings | None = None) -> FastAPI:
    settings = settings or OrdersSettings()

    @asynccontextmanager
    async def lifespan(resources: Resources) -> AsyncIterator[Mapping[str, Any]]:
        tokens = service_tokens(resources.http, settings)
        assert resources.sessions is not None  # orders has a database
        claims = Claims(resources.sessions, settings)
        cleanup = asyncio.create_task(
            run_cleanup(claims, settings.idempotency_cleanup_interval_seconds),
            name="idempotency-key-cleanup",
        )
        try:
            yield {"catalog": CatalogClient(resources.http, tokens, settings), "claims": claims}
        finally:
            cleanup.cancel()
            with suppress(asyncio.CancelledError):
                await cleanup

    return create_service_app(
        settings,
        title="Mercato orders",
        description="Orders with stock reserved in catalog; idempotent creation.",
        routers=[router],
        redis=False,
        lifespan=lifespan,
    )
