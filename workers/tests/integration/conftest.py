"""Worker suite: the `it_reports` database (the worker runs reports' jobs) and the
worker's own Redis database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mercato_shared.db import create_engine, create_session_factory
from mercato_shared.testing.suite import ServiceSuite
from reports.migrate import MIGRATIONS
from workers.config import WorkerSettings

SUITE = ServiceSuite(
    WorkerSettings,
    migrations=MIGRATIONS,
    tables=("report_jobs",),
    overrides={"report_lease_seconds": 3.0, "sweep_queued_after_seconds": 2.0},
)
IT_REDIS_URL = SUITE.redis_url


def worker_settings(**overrides: Any) -> WorkerSettings:
    return SUITE.settings_for(**overrides)


@pytest.fixture(scope="session")
def suite() -> ServiceSuite[WorkerSettings]:
    return SUITE


@pytest.fixture
async def engine(clean_state: None, migrated: WorkerSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)
