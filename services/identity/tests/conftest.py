"""Identity test fixtures: an app on the real `it_identity` database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from identity.config import IdentitySettings
from identity.main import create_app
from identity.migrate import MIGRATIONS
from mercato_shared.migrations import migrate
from tests.helpers import app_client as serve
from tests.helpers import truncate

#: The login throttle's counts (identity's own Redis database in the integration tests).
IT_REDIS_URL = "redis://127.0.0.1:6379/12"


def it_settings(**overrides: Any) -> IdentitySettings:
    values: dict[str, Any] = {"database_prefix": "it_", "redis_url": IT_REDIS_URL} | overrides
    return IdentitySettings(**values)


@pytest.fixture(scope="session")
def migrated() -> IdentitySettings:
    settings = it_settings()
    migrate(settings, MIGRATIONS)
    return settings


@pytest.fixture
async def clean_state(migrated: IdentitySettings) -> None:
    await truncate(migrated.database_url, "users, refresh_tokens")
    client = Redis.from_url(IT_REDIS_URL)
    await client.flushdb()
    await client.aclose()


@pytest.fixture
async def client(clean_state: None) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(create_app(it_settings()), "http://identity") as c:
        yield c
