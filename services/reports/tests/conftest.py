"""Reports test fixtures: the app on the real `it_reports` database, Redis database 9."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from identity.config import IdentitySettings
from identity.tokens import mint_access_token
from mercato_shared.migrations import migrate
from reports.config import ReportsSettings
from reports.main import create_app
from reports.migrate import MIGRATIONS
from tests.helpers import app_client as serve
from tests.helpers import flush_redis, truncate

IT_REDIS_URL = "redis://127.0.0.1:6379/9"


def it_settings(**overrides: Any) -> ReportsSettings:
    values: dict[str, Any] = {"database_prefix": "it_", "redis_url": IT_REDIS_URL} | overrides
    return ReportsSettings(**values)


def bearer(subject: str, role: str = "customer") -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_access_token(subject, role, IdentitySettings())}"}


@pytest.fixture(scope="session")
def migrated() -> ReportsSettings:
    settings = it_settings()
    migrate(settings, MIGRATIONS)
    return settings


@pytest.fixture
async def clean_state(migrated: ReportsSettings) -> None:
    await truncate(migrated.database_url, "report_jobs")
    await flush_redis(IT_REDIS_URL)


@pytest.fixture
async def client(clean_state: None) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(create_app(it_settings()), "http://reports") as c:
        yield c


@pytest.fixture
def auth() -> Callable[..., dict[str, str]]:
    return bearer
