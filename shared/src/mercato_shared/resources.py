"""Process resources owned by the app's lifespan: created at startup, closed at shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import aiohttp
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mercato_shared.db import autocommit, create_engine, create_session_factory
from mercato_shared.dependencies import ServiceDependencies
from mercato_shared.http import create_http_session
from mercato_shared.settings import BaseServiceSettings
from mercato_shared.telemetry import instrument_engine, instrument_http_client, instrument_redis


@dataclass(frozen=True, slots=True)
class Resources:
    settings: BaseServiceSettings
    http: aiohttp.ClientSession
    engine: AsyncEngine | None = None
    sessions: async_sessionmaker[AsyncSession] | None = None
    # The engine's autocommit view (same pool): a statement that stands alone (a write that is
    # one statement, a cache's load) is its own transaction, without BEGIN and COMMIT or
    # ROLLBACK round trips (mercato_shared.db.autocommit).
    writes: AsyncEngine | None = None
    redis: Redis | None = None

    def require_redis(self) -> Redis:
        """The Redis client, for a service that declares Redis in `stack.toml`."""
        if self.redis is None:
            msg = f"{self.settings.service_name} does not declare Redis in stack.toml"
            raise RuntimeError(msg)
        return self.redis


def create_redis(settings: BaseServiceSettings) -> Redis:
    """A pooled Redis client whose every call is bounded by `REDIS_TIMEOUT`, traced.

    It survives a Redis restart: a command that meets a dropped connection reconnects and
    is tried again (`REDIS_RETRIES` times, jittered backoff of 20-200 ms), and a connection
    idle for 30 s is checked (PING) before it is used again.
    """
    client = Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout,
        socket_connect_timeout=settings.redis_timeout,
        retry=Retry(ExponentialWithJitterBackoff(base=0.02, cap=0.2), settings.redis_retries),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=30,
        max_connections=50,
    )
    instrument_redis(client)
    return client


@asynccontextmanager
async def open_resources(
    settings: BaseServiceSettings,
    dependencies: ServiceDependencies,
) -> AsyncIterator[Resources]:
    """The shared HTTP session, and the database and Redis clients `dependencies` declares.

    The session is created here, on the running loop, and closed when the block ends. A
    test's fake upstream is a server on a loopback port its URL setting names
    (`mercato_shared.testing.loopback`), so its calls cross a real socket as in production.
    """
    async with AsyncExitStack() as stack:
        instrument_http_client()  # before the session: it adds its spans to new sessions
        http = create_http_session(settings)
        stack.push_async_callback(http.close)
        engine = sessions = writes = None
        if dependencies.database:
            engine = create_engine(settings)
            stack.push_async_callback(engine.dispose)
            instrument_engine(engine)
            sessions = create_session_factory(engine)
            writes = autocommit(engine)
        redis_client = None
        if dependencies.redis:
            redis_client = create_redis(settings)
            stack.push_async_callback(redis_client.aclose)
        yield Resources(
            settings=settings,
            http=http,
            engine=engine,
            sessions=sessions,
            writes=writes,
            redis=redis_client,
        )
