"""Checkout's suite: the app in this process, a fake of catalog, the partners process.

Catalog is faked by its HTTP contract (`fake_catalog`), served on a loopback socket. The
partners service is the shop's simulation of its outside partners; it runs as a uvicorn
process on a free port (started by its module path, never imported), so timeouts, hangs
and hang-ups are real network behaviour, and the tests set its faults through its admin
API. Checkout reaches both over HTTP, as in production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Final

import httpx
import pytest

from checkout.config import CheckoutSettings
from checkout.main import create_app
from mercato_shared.testing.app_client import app_client
from mercato_shared.testing.loopback import serve_on_loopback
from mercato_shared.testing.process import served_process
from mercato_shared.testing.suite import ServiceSuite
from mercato_shop.testing.partners_admin import PartnersAdmin

from .fake_catalog import fake_catalog

SUITE: Final = ServiceSuite(CheckoutSettings, create_app)
PARTNERS: Final = "partners"


@pytest.fixture(scope="session")
def suite() -> ServiceSuite[CheckoutSettings]:
    return SUITE


@pytest.fixture(scope="session")
def partners_url() -> Iterator[str]:
    with served_process(PARTNERS, {"LOG_LEVEL": "WARNING", "PARTNERS_RANDOM_SEED": "7"}) as url:
        yield url


@pytest.fixture(scope="session")
async def catalog_url() -> AsyncIterator[str]:
    async with serve_on_loopback(fake_catalog()) as url:
        yield url


@pytest.fixture
async def partners(partners_url: str, clean_state: None) -> AsyncIterator[PartnersAdmin]:
    """Partners reset before and after each test; the suite's Redis database emptied."""
    async with httpx.AsyncClient(base_url=partners_url, timeout=5) as client:
        admin = PartnersAdmin(client)
        await admin.reset()
        yield admin
        await admin.reset()


CheckoutFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def checkout_for(catalog_url: str, partners_url: str, partners: PartnersAdmin) -> CheckoutFactory:
    """Open a client on an in-process checkout app; keyword arguments override settings."""

    @asynccontextmanager
    async def open_client(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        urls = {"catalog_url": catalog_url, "partners_url": partners_url}
        settings = SUITE.settings_for(**(urls | overrides))
        async with app_client(create_app(settings), SUITE.base_url) as client:
            yield client

    return open_client


@pytest.fixture
async def checkout(checkout_for: CheckoutFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with checkout_for() as client:
        yield client
