"""Fixtures of catalog's periodic-job tests: a fake of orders (and identity) over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from redis.asyncio import Redis

from catalog.clients import OrdersClient, catalog_tokens
from catalog.config import CatalogSettings
from mercato_shared.testing.loopback import free_port, outbound_session

from .fake_orders import FakeOrders, fake_orders


@pytest.fixture
async def upstream(clean_state: None) -> AsyncIterator[FakeOrders]:
    async with fake_orders() as running:
        yield running


@pytest.fixture
def job_settings(
    upstream: FakeOrders, settings_for: Callable[..., CatalogSettings]
) -> Callable[..., CatalogSettings]:
    """Catalog settings pointing at the upstream apps; keyword arguments override."""

    def make(**overrides: object) -> CatalogSettings:
        urls = {"orders_url": upstream.orders_url, "identity_url": upstream.identity_url}
        return settings_for(**(urls | overrides))

    return make


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with outbound_session() as session:
        yield session


@pytest.fixture
def orders_client(
    http: aiohttp.ClientSession, job_settings: Callable[..., CatalogSettings]
) -> Callable[..., OrdersClient]:
    def make(settings: CatalogSettings | None = None) -> OrdersClient:
        settings = settings or job_settings()
        return OrdersClient(http, catalog_tokens(http, settings), settings)

    return make


@pytest.fixture
async def unreachable_redis() -> AsyncIterator[Redis]:
    """A client of a loopback port nobody listens on (connections are refused)."""
    client = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    yield client
    await client.aclose()
