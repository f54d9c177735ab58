"""Orders' suite: its app on the `it_orders` database, its catalog calls to a fake of
catalog and its token from a fake of identity (both served on loopback ports of this
process, so orders' calls cross real sockets)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp

from mercato_shared.testing.app_client import app_client
from mercato_shared.testing.fakes import fake_identity
from mercato_shared.testing.loopback import serve_all
from mercato_shared.testing.suite import ServiceSuite
from orders.config import OrdersSettings
from orders.main import create_app
from orders.migrate import MIGRATIONS

from .fake_catalog import FakeCatalog

SUITE = ServiceSuite(
    OrdersSettings,
    create_app,
    MIGRATIONS,
    tables=("orders", "order_items", "idempotency_keys"),
)
orders_settings = SUITE.settings_for


@pytest.fixture(scope="session")
def suite() -> ServiceSuite[OrdersSettings]:
    return SUITE


@pytest.fixture
def catalog(clean_state: None) -> FakeCatalog:
    return FakeCatalog()


@asynccontextmanager
async def orders_app(
    catalog: ASGIApp, settings: OrdersSettings
) -> AsyncIterator[httpx.AsyncClient]:
    """Orders, whose catalog calls go to `catalog` and identity calls to a fake identity,
    both served on loopback ports (`catalog_url` and `identity_url` point at them)."""
    async with serve_all({"catalog": catalog, "identity": fake_identity()}) as urls:
        served = settings.model_copy(
            update={"catalog_url": urls["catalog"], "identity_url": urls["identity"]}
        )
        async with app_client(create_app(served), SUITE.base_url) as client:
            yield client


@pytest.fixture
async def client(catalog: FakeCatalog) -> AsyncIterator[httpx.AsyncClient]:
    """Orders, whose catalog and identity calls go to the fakes."""
    async with orders_app(catalog.app, orders_settings()) as opened:
        yield opened


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement sent (by any engine of this process), in order."""
    sent: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    yield sent
    event.remove(Engine, "before_cursor_execute", record)
