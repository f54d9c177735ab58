"""Worker test fixtures: the real `it_reports` database and Redis database 9."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mercato_shared.db import create_engine, create_session_factory
from mercato_shared.migrations import migrate
from reports.migrate import MIGRATIONS
from tests.helpers import flush_redis, truncate
from workers.config import WorkerSettings

IT_REDIS_URL = "redis://127.0.0.1:6379/9"


def worker_settings(**overrides: Any) -> WorkerSettings:
    values: dict[str, Any] = {
        "database_prefix": "it_",
        "redis_url": IT_REDIS_URL,
        "report_lease_seconds": 3.0,
        "sweep_queued_after_seconds": 2.0,
    } | overrides
    return WorkerSettings(**values)


@pytest.fixture(scope="session")
def migrated() -> WorkerSettings:
    settings = worker_settings()
    migrate(settings, MIGRATIONS)
    return settings


@pytest.fixture
async def engine(migrated: WorkerSettings) -> AsyncIterator[AsyncEngine]:
    await truncate(migrated.database_url, "report_jobs")
    await flush_redis(IT_REDIS_URL)
    engine = create_engine(migrated)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)
