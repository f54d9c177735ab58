"""Fail early, with a clear message, when Postgres or Redis is not reachable."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import asyncpg
import redis
from redis.exceptions import RedisError

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
TIMEOUT_SECONDS = 5


class DependencyUnreachableError(RuntimeError):
    """Postgres or Redis did not answer."""


def postgres_dsn(url: str) -> str:
    """asyncpg's DSN for the server's `postgres` database, from SQLAlchemy's POSTGRES_URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1).rstrip("/") + "/postgres"


async def _postgres(dsn: str) -> None:
    connection = await asyncpg.connect(dsn, timeout=TIMEOUT_SECONDS)
    await connection.close(timeout=TIMEOUT_SECONDS)


def check_dependencies(env: Mapping[str, str]) -> None:
    """Connect to Postgres and ping Redis, as the stack's settings name them.

    Raises:
        DependencyUnreachableError: naming the one that failed and why.
    """
    dsn = postgres_dsn(env.get("POSTGRES_URL", DEFAULT_POSTGRES_URL))
    try:
        asyncio.run(_postgres(dsn))
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        raise DependencyUnreachableError(f"Postgres (POSTGRES_URL): {exc!r}") from exc
    client = redis.Redis.from_url(
        env.get("REDIS_URL", DEFAULT_REDIS_URL),
        socket_timeout=TIMEOUT_SECONDS,
        socket_connect_timeout=TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    except (OSError, RedisError) as exc:
        raise DependencyUnreachableError(f"Redis (REDIS_URL): {exc!r}") from exc
    finally:
        client.close()
