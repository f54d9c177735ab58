"""The pytest fixtures every service's tests get (registered by the `pytest11` entry point).

A service's `tests/conftest.py` defines one session fixture, `suite` (a `ServiceSuite`);
these fixtures do the rest:

* `migrated`: the suite's settings, its database (`it_<name>`) created and migrated once;
* `clean_state`: the suite's tables emptied and its Redis database flushed, before a test;
* `settings_for(**overrides)`: the suite's settings with other values;
* `client`: an httpx client on the service's app in this process (lifespan included), on
  a clean state; `client_for(settings)` opens one on other settings;
* `redis`: a client of the suite's own Redis database (`redis_databases`), on a clean state;
* `auth(subject, role)`: the Authorization header of a token signed with the development
  key, which every service accepts by default;
* `fake_identity_url`: identity's token endpoint, faked, served on loopback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from mercato_shared.migrations import migrate
from mercato_shared.settings import BaseServiceSettings
from mercato_shared.testing.app_client import app_client
from mercato_shared.testing.database import truncate
from mercato_shared.testing.fakes import fake_identity
from mercato_shared.testing.loopback import serve_on_loopback
from mercato_shared.testing.suite import ServiceSuite
from mercato_shared.testing.tokens import bearer

Suite = ServiceSuite[Any]
ClientFor = Callable[[Any], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture(scope="session")
def suite() -> Suite:
    """Overridden by each service's `tests/conftest.py`."""
    pytest.fail("this suite's conftest.py defines no `suite` fixture (a ServiceSuite)")


@pytest.fixture(scope="session")
def _migrated_suites() -> set[str]:
    """The suites whose database this session migrated already."""
    return set()


@pytest.fixture
def migrated(suite: Suite, _migrated_suites: set[str]) -> BaseServiceSettings:
    # Function-scoped on purpose: a session-scoped fixture would keep the first suite's
    # value for every other suite of the session (each overrides `suite`).
    settings: BaseServiceSettings = suite.settings_for()
    if suite.migrations is not None and suite.name not in _migrated_suites:
        migrate(settings, suite.migrations)
        _migrated_suites.add(suite.name)
    return settings


async def flush(redis_url: str) -> None:
    """FLUSHDB on one database (never FLUSHALL: other databases belong to others)."""
    redis = Redis.from_url(redis_url)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()


@pytest_asyncio.fixture
async def clean_state(suite: Suite, migrated: BaseServiceSettings) -> None:
    if suite.migrations is not None:
        await truncate(migrated.database_url, suite.tables)
    if suite.has_redis:
        await flush(suite.redis_url)


@pytest.fixture
def settings_for(suite: Suite) -> Callable[..., Any]:
    return suite.settings_for


@pytest.fixture
def client_for(suite: Suite, clean_state: None) -> ClientFor:
    """Open a client on the service's app with other settings (e.g. a private Redis)."""

    def open_client(settings: Any) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        return app_client(suite.app(settings), suite.base_url)

    return open_client


@pytest_asyncio.fixture
async def client(suite: Suite, client_for: ClientFor) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(suite.settings_for()) as opened:
        yield opened


@pytest_asyncio.fixture
async def redis(suite: Suite, clean_state: None) -> AsyncIterator[Redis]:
    """A client of the suite's Redis database, flushed before the test (setup and checks)."""
    client = Redis.from_url(suite.redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def auth() -> Callable[..., dict[str, str]]:
    return bearer


@pytest_asyncio.fixture
async def fake_identity_url() -> AsyncIterator[str]:
    async with serve_on_loopback(fake_identity()) as url:
        yield url
