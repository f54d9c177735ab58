"""An httpx client talking to an app in this process, its lifespan (and resources) included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp


@asynccontextmanager
async def app_client(
    app: ASGIApp, base_url: str, *, request_timeout: float = 10.0
) -> AsyncIterator[httpx.AsyncClient]:
    """A client on `app` started as a server would start it (lifespan startup and shutdown)."""
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(
            transport=transport, base_url=base_url, timeout=request_timeout
        ) as client:
            yield client
