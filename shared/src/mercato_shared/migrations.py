"""Per-service database creation and Alembic migrations, run once before a service starts."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.schema import MetaData

from mercato_shared.settings import BaseServiceSettings

_SAFE_NAME = re.compile(r"^[a-z0-9_]{1,63}$")


async def ensure_database(settings: BaseServiceSettings) -> bool:
    """Create the service's database when missing; True when it was created."""
    url = settings.database_url
    server, name = url.rsplit("/", 1)
    if not _SAFE_NAME.match(name):
        msg = f"unsafe database name {name!r}"
        raise ValueError(msg)
    dsn = server.replace("postgresql+asyncpg://", "postgresql://") + "/postgres"
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        await conn.execute(f'CREATE DATABASE "{name}"')  # name checked against _SAFE_NAME
        return True
    finally:
        await conn.close()


def alembic_config(settings: BaseServiceSettings, script_location: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    return config


def migrate(settings: BaseServiceSettings, script_location: Path) -> None:
    """Create the database if needed and upgrade it to the newest revision."""
    asyncio.run(ensure_database(settings))
    command.upgrade(alembic_config(settings, script_location), "head")


def run_alembic_env(target_metadata: MetaData) -> None:
    """The body of every service's `migrations/env.py` (online, async engine)."""
    from alembic import context  # noqa: PLC0415 - only importable while Alembic runs env.py

    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        msg = "sqlalchemy.url is not set"
        raise RuntimeError(msg)

    def run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(run)
        await engine.dispose()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(run_async())
