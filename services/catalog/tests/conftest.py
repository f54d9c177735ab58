"""Catalog test fixtures: an app on the real `it_catalog` database and Redis database 15."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import create_async_engine

from catalog.config import CatalogSettings
from catalog.main import create_app
from catalog.migrate import MIGRATIONS
from mercato_shared.migrations import migrate

IT_REDIS_URL = "redis://127.0.0.1:6379/15"


def it_settings(**overrides: Any) -> CatalogSettings:
    values: dict[str, Any] = {"database_prefix": "it_", "redis_url": IT_REDIS_URL} | overrides
    return CatalogSettings(**values)


@pytest.fixture(scope="session")
def migrated() -> CatalogSettings:
    settings = it_settings()
    migrate(settings, MIGRATIONS)
    return settings


@pytest.fixture
async def clean_state(migrated: CatalogSettings) -> None:
    engine = create_async_engine(migrated.database_url)
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE products RESTART IDENTITY"))
    await engine.dispose()
    redis = Redis.from_url(IT_REDIS_URL)
    await redis.flushdb()
    await redis.aclose()


@asynccontextmanager
async def app_client(settings: CatalogSettings) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to a catalog app (lifespan and all) in this process."""
    async with LifespanManager(create_app(settings)) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://catalog") as client:
            yield client


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
