"""Per-service database creation and Alembic migrations, run once before a service starts.

A service declares its migrations once, in `<service>/migrate.py`:

    MIGRATIONS = Migrations.of_service(__file__, Base.metadata)

    if __name__ == "__main__":
        main(CatalogSettings, MIGRATIONS)

and keeps only its revisions in `services/<name>/migrations/versions/`. The Alembic
environment (`env.py`) and the template of new revisions (`script.py.mako`) exist once, in
`mercato_shared/migration_env/`: the config built here points `script_location` there and
`version_locations` at the service's revisions, and hands `env.py` the service's metadata.

    python -m catalog.migrate                                      # create + upgrade to head
    python -m catalog.migrate revision -m "add colour" --autogenerate
"""

from __future__ import annotations

import argparse
import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.schema import MetaData

from mercato_shared.settings import BaseServiceSettings

_SAFE_NAME = re.compile(r"^[a-z0-9_]{1,63}$")
ENVIRONMENT: Final = Path(__file__).resolve().parent / "migration_env"
_METADATA: Final = "target_metadata"


@dataclass(frozen=True, slots=True)
class Migrations:
    """One service's migrations: the metadata of its tables and the folder of its revisions."""

    metadata: MetaData
    versions: Path

    @classmethod
    def of_service(cls, module_file: str, metadata: MetaData) -> Migrations:
        """The revisions of the service whose `src/<name>/<module>.py` is `module_file`.

        They live in `services/<name>/migrations/versions/`, beside the service's `src/`.
        """
        return cls(metadata, Path(module_file).resolve().parents[2] / "migrations" / "versions")


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


def alembic_config(settings: BaseServiceSettings, migrations: Migrations) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ENVIRONMENT))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(migrations.versions))
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    config.attributes[_METADATA] = migrations.metadata
    return config


def migrate(settings: BaseServiceSettings, migrations: Migrations) -> None:
    """Create the database if needed and upgrade it to the newest revision."""
    asyncio.run(ensure_database(settings))
    command.upgrade(alembic_config(settings, migrations), "head")


def main(
    settings: Callable[[], BaseServiceSettings],
    migrations: Migrations,
    argv: Sequence[str] | None = None,
) -> None:
    """`python -m <service>.migrate`: upgrade (the default), or write a new revision."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("upgrade", help="create the database if needed; upgrade it to head")
    revision = commands.add_parser("revision", help="write a new revision from the template")
    revision.add_argument("-m", "--message", required=True)
    revision.add_argument(
        "--autogenerate", action="store_true", help="diff the models against the database"
    )
    args = parser.parse_args(argv)
    if args.command == "revision":
        config = alembic_config(settings(), migrations)
        command.revision(config, message=args.message, autogenerate=args.autogenerate)
    else:
        migrate(settings(), migrations)


def run_alembic_env() -> None:
    """The body of the one `env.py` (online, async engine): migrates the config's metadata."""
    from alembic import context  # noqa: PLC0415 - only importable while Alembic runs env.py

    url = context.config.get_main_option("sqlalchemy.url")
    target_metadata = context.config.attributes.get(_METADATA)
    if url is None or not isinstance(target_metadata, MetaData):
        msg = "run Alembic through mercato_shared.migrations (sqlalchemy.url and metadata)"
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
