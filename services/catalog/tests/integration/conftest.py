"""Fixtures of catalog's periodic-job tests: the real orders and identity apps over HTTP."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from redis.asyncio import Redis

from catalog.clients import OrdersClient, catalog_tokens
from catalog.config import CatalogSettings
from identity.config import IdentitySettings
from orders.config import OrdersSettings

from ..conftest import IT_REDIS_URL
from .orders_upstream import OrdersUpstream, migrate_upstreams, orders_upstream


def closed_port() -> int:
    """A loopback port nobody listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def upstream_settings() -> tuple[OrdersSettings, IdentitySettings]:
    return migrate_upstreams()


@pytest.fixture
async def upstream(
    clean_state: None, upstream_settings: tuple[OrdersSettings, IdentitySettings]
) -> AsyncIterator[OrdersUpstream]:
    async with orders_upstream(*upstream_settings) as running:
        yield running


@pytest.fixture
def job_settings(
    upstream: OrdersUpstream, settings_for: Callable[..., CatalogSettings]
) -> Callable[..., CatalogSettings]:
    """Catalog settings pointing at the upstream apps; keyword arguments override."""

    def make(**overrides: object) -> CatalogSettings:
        urls = {"orders_url": upstream.orders_url, "identity_url": upstream.identity_url}
        return settings_for(**(urls | overrides))

    return make


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def orders_client(
    http: httpx.AsyncClient, job_settings: Callable[..., CatalogSettings]
) -> Callable[..., OrdersClient]:
    def make(settings: CatalogSettings | None = None) -> OrdersClient:
        settings = settings or job_settings()
        return OrdersClient(http, catalog_tokens(http, settings), settings)

    return make


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(IT_REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
async def unreachable_redis() -> AsyncIterator[Redis]:
    """A client of a loopback port nobody listens on (connections are refused)."""
    client = Redis.from_url(f"redis://127.0.0.1:{closed_port()}/0", socket_connect_timeout=1)
    yield client
    await client.aclose()
