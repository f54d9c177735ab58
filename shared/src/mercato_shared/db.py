"""SQLAlchemy 2.0 async engine on asyncpg: one sized pool per process.

How a restarted Postgres costs no request, without a round trip per checkout: asyncio reads
every pooled connection's socket, so when the server goes away asyncpg notices at once and
marks the connection closed. `_discard_closed` looks at that flag (no I/O) as a connection
leaves the pool and raises `DisconnectionError`, which makes SQLAlchemy's pool throw the
connection away and hand out another (SQLAlchemy's documented custom pessimistic check). A
connection that dies while it is in use fails its statement; SQLAlchemy then invalidates
it and every pooled connection older than it, and the request answers 503 with
`Retry-After` (`mercato_shared.unavailable`).

That check needs a loop that runs while the connection idles. A Celery child runs its loop
only during a job, so the worker's engine has SQLAlchemy's pre-ping (`pre_ping=True`): a
BEGIN / ROLLBACK round trip per checkout, small next to a report.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from mercato_shared.settings import BaseServiceSettings

SslMode = Literal["disable", "prefer", "require", "verify-ca", "verify-full"]


def create_engine(settings: BaseServiceSettings, *, pre_ping: bool = False) -> AsyncEngine:
    """The process's engine: a fixed pool and a server-side statement timeout.

    The pool holds up to `DB_POOL_SIZE` connections and opens no overflow ones: a request
    finding them all busy waits up to `DB_POOL_TIMEOUT` (then 503), so a steady load reuses
    the same connections instead of opening and closing extra ones.
    """
    engine = create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_recycle=1800,
        pool_pre_ping=pre_ping,
        connect_args={
            "server_settings": {
                "application_name": settings.service_name,
                "statement_timeout": str(settings.db_statement_timeout_ms),
            },
            "timeout": settings.db_connect_timeout,
            "command_timeout": settings.db_statement_timeout_ms / 1000 + 1,
            "ssl": ssl_mode(settings.postgres_url, settings.db_ssl),
        },
    )
    event.listen(engine.sync_engine.pool, "checkout", _discard_closed)
    return engine


def ssl_mode(postgres_url: str, setting: SslMode | Literal["auto"]) -> SslMode:
    """`DB_SSL`; `auto` is `disable` for a server on this host and `prefer` for any other.

    TLS on a loopback connection protects nothing and costs a handshake per connection.
    """
    if setting != "auto":
        return setting
    host = urlsplit(postgres_url).hostname or ""
    if host in ("", "localhost") or host.startswith("/"):
        return "disable"
    try:
        return "disable" if ipaddress.ip_address(host).is_loopback else "prefer"
    except ValueError:  # a host name
        return "prefer"


def _discard_closed(
    dbapi_connection: Any, _record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
) -> None:
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def autocommit(engine: AsyncEngine) -> AsyncEngine:
    """The same engine and pool, each statement committed on its own (no BEGIN, no COMMIT).

    For writes that are one statement: the statement is its own transaction, which saves
    two round trips and the rollback when the connection returns to the pool.
    """
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
