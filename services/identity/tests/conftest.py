"""Identity test fixtures: an app on the real `it_identity` database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from identity.config import IdentitySettings
from identity.main import create_app
from identity.migrate import MIGRATIONS
from mercato_shared.migrations import migrate


def it_settings(**overrides: Any) -> IdentitySettings:
    values: dict[str, Any] = {"database_prefix": "it_"} | overrides
    return IdentitySettings(**values)


@pytest.fixture(scope="session")
def migrated() -> IdentitySettings:
    settings = it_settings()
    migrate(settings, MIGRATIONS)
    return settings


@pytest.fixture
async def clean_state(migrated: IdentitySettings) -> None:
    engine = create_async_engine(migrated.database_url)
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE users, refresh_tokens RESTART IDENTITY"))
    await engine.dispose()


@pytest.fixture
async def client(clean_state: None) -> AsyncIterator[httpx.AsyncClient]:
    async with LifespanManager(create_app(it_settings())) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://identity") as c:
            yield c
