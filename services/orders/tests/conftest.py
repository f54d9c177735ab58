"""Orders test fixtures: orders on `it_orders`, talking over HTTP (in process) to a real
catalog app on `it_catalog` and a real identity app on `it_identity`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import event
from sqlalchemy.engine import Engine

from catalog.config import CatalogSettings
from catalog.main import create_app as create_catalog
from catalog.migrate import MIGRATIONS as CATALOG_MIGRATIONS
from identity.config import IdentitySettings
from identity.main import create_app as create_identity
from identity.migrate import MIGRATIONS as IDENTITY_MIGRATIONS
from mercato_shared.migrations import migrate
from orders.config import OrdersSettings
from orders.main import create_app
from orders.migrate import MIGRATIONS
from tests.helpers import app_client as serve
from tests.helpers import flush_redis, truncate

IT_REDIS_URL = "redis://127.0.0.1:6379/13"


def orders_settings(**overrides: Any) -> OrdersSettings:
    values: dict[str, Any] = {
        "database_prefix": "it_",
        "catalog_url": "http://catalog",
        "identity_url": "http://identity",
    } | overrides
    return OrdersSettings(**values)


@pytest.fixture(scope="session")
def migrated() -> OrdersSettings:
    settings = orders_settings()
    migrate(settings, MIGRATIONS)
    migrate(CatalogSettings(database_prefix="it_", redis_url=IT_REDIS_URL), CATALOG_MIGRATIONS)
    migrate(IdentitySettings(database_prefix="it_"), IDENTITY_MIGRATIONS)
    return settings


@pytest.fixture
async def clean_state(migrated: OrdersSettings) -> None:
    await truncate(migrated.database_url, "orders, order_items, idempotency_keys")
    catalog_url = CatalogSettings(database_prefix="it_").database_url
    await truncate(catalog_url, "products, reservations")
    await flush_redis(IT_REDIS_URL)


@pytest.fixture
async def catalog(clean_state: None) -> AsyncIterator[httpx.AsyncClient]:
    settings = CatalogSettings(database_prefix="it_", redis_url=IT_REDIS_URL, periodic_jobs=False)
    app = create_catalog(settings)
    async with serve(app, "http://catalog") as c:
        yield c


@asynccontextmanager
async def orders_app(
    catalog: httpx.AsyncBaseTransport, settings: OrdersSettings
) -> AsyncIterator[httpx.AsyncClient]:
    """Orders, whose catalog calls go through `catalog` and identity calls to an in-process
    identity app, both over HTTP."""
    async with (
        LifespanManager(create_identity(IdentitySettings(database_prefix="it_"))) as identity,
        httpx.AsyncClient(
            mounts={
                "http://catalog": catalog,
                "http://identity": httpx.ASGITransport(app=identity.app),
            }
        ) as upstream,
        serve(create_app(settings, outbound=upstream), "http://orders") as c,
    ):
        yield c


@pytest.fixture
async def client(catalog: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """Orders, whose catalog and identity calls go to the in-process apps over HTTP."""
    async with orders_app(catalog._transport, orders_settings()) as c:
        yield c


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement sent (by any engine of this process), in order."""
    sent: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    yield sent
    event.remove(Engine, "before_cursor_execute", record)
