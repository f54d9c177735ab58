"""A worker process's resources: one event loop and the async clients bound to it.

Celery's prefork children run tasks synchronously, one at a time. Each child opens its
runtime once (in `worker_process_init`, never in the parent before the fork) and every task
runs its coroutine on the child's long-lived loop, so the engine's pool, the HTTP session's
connections and the cached service token are reused across tasks, as in a FastAPI lifespan.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mercato_shared.db import create_engine, create_session_factory
from mercato_shared.http import create_http_session
from mercato_shared.service_tokens import ServiceTokens
from mercato_shared.telemetry import instrument_engine, instrument_http_client
from workers.config import WorkerSettings
from workers.orders_client import OrdersClient

T = TypeVar("T")


class Runtime:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self._runner = asyncio.Runner()
        # The loop is idle between tasks and cannot see a pooled connection close: each
        # checkout tests its connection (mercato_shared.db).
        self.engine: AsyncEngine = create_engine(settings, pre_ping=True)
        instrument_engine(self.engine)
        self.sessions: async_sessionmaker[AsyncSession] = create_session_factory(self.engine)
        # The session belongs to the runtime's loop: it is created on it.
        self.http: aiohttp.ClientSession = self._runner.run(_open_session(settings))
        tokens = ServiceTokens(
            self.http,
            identity_url=settings.identity_url,
            client_id=settings.reports_client_id,
            client_secret=settings.reports_client_secret,
            timeout=settings.http_timeout,
        )
        self.orders = OrdersClient(self.http, tokens, settings)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self._runner.run(coroutine)

    def close(self) -> None:
        async def close_clients() -> None:
            await self.http.close()
            await self.engine.dispose()

        try:
            self._runner.run(close_clients())
        finally:
            self._runner.close()


async def _open_session(settings: WorkerSettings) -> aiohttp.ClientSession:
    instrument_http_client()  # before the session: it adds its spans to new sessions
    return create_http_session(settings)


class RuntimeHolder:
    """Opens the runtime in the process that runs tasks, and closes it at shutdown."""

    def __init__(self, settings: WorkerSettings) -> None:
        self._settings = settings
        self._runtime: Runtime | None = None

    def get(self) -> Runtime:
        if self._runtime is None:  # the solo pool sends no worker_process_init
            self._runtime = Runtime(self._settings)
        return self._runtime

    def close(self) -> None:
        if self._runtime is not None:
            runtime, self._runtime = self._runtime, None
            runtime.close()
