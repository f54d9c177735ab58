"""SQLAlchemy 2.0 async engine on asyncpg: one sized pool per process."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from mercato_shared.settings import BaseServiceSettings


def create_engine(settings: BaseServiceSettings) -> AsyncEngine:
    """The process's engine: bounded pool, server-side statement timeout, pre-ping.

    `pool_pre_ping` tests each connection as it leaves the pool and replaces a dead one, so
    the first request (or task) after a Postgres restart gets a fresh connection instead of
    `connection was closed`. It costs a round trip per checkout, not per query; a cached
    read checks nothing out. `DB_POOL_PRE_PING=false` turns it off.
    """
    return create_async_engine(
        settings.database_url,
        pool_pre_ping=settings.db_pool_pre_ping,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_recycle=1800,
        connect_args={
            "server_settings": {
                "application_name": settings.service_name,
                "statement_timeout": str(settings.db_statement_timeout_ms),
            },
            "timeout": settings.db_connect_timeout,
            "command_timeout": settings.db_statement_timeout_ms / 1000 + 1,
        },
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
