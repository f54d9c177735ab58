"""Catalog test fixtures: an app on the real `it_catalog` database and Redis database 15."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from catalog.config import CatalogSettings
from catalog.main import create_app
from catalog.migrate import MIGRATIONS
from mercato_shared.migrations import migrate
from tests.helpers import app_client as serve
from tests.helpers import flush_redis, truncate

IT_REDIS_URL = "redis://127.0.0.1:6379/15"


def it_settings(**overrides: Any) -> CatalogSettings:
    # The periodic jobs are driven by the tests that test them (test_periodic_jobs.py).
    values: dict[str, Any] = {
        "database_prefix": "it_",
        "redis_url": IT_REDIS_URL,
        "periodic_jobs": False,
    } | overrides
    return CatalogSettings(**values)


@pytest.fixture(scope="session")
def migrated() -> CatalogSettings:
    settings = it_settings()
    migrate(settings, MIGRATIONS)
    return settings


@pytest.fixture
async def clean_state(migrated: CatalogSettings) -> None:
    await truncate(migrated.database_url, "products, reservations")
    await flush_redis(IT_REDIS_URL)


def app_client(settings: CatalogSettings) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    """An httpx client talking to a catalog app (lifespan and all) in this process."""
    return serve(create_app(settings), "http://catalog")


@pytest.fixture
def settings_for() -> Callable[..., CatalogSettings]:
    return it_settings


@pytest.fixture
def client_for(clean_state: None) -> Callable[[CatalogSettings], Any]:
    """Open a client on a catalog app with other settings (e.g. a private Redis)."""
    return app_client


@pytest.fixture
async def client(clean_state: None) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(it_settings()) as c:
        yield c


@pytest.fixture
def product_selects() -> Iterator[list[str]]:
    """Every SQL statement that reads the products table, in the order sent."""
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "products" in statement:
            statements.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    yield statements
    event.remove(Engine, "before_cursor_execute", record)


@pytest.fixture
def product() -> Callable[..., dict[str, Any]]:
    """A valid create body; keyword arguments override fields."""
    return product_payload


def product_payload(sku: str = "KIT-TEST-1", **overrides: Any) -> dict[str, Any]:
    return {
        "sku": sku,
        "name": "Enamel teapot",
        "description": "A teapot.",
        "price": "24.90",
        "currency": "EUR",
        "stock": 10,
        "category": "kitchen",
    } | overrides
