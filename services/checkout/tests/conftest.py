"""Checkout's suite: the app in this process, a fake of catalog, the partners process.

Catalog is faked by its HTTP contract (`fake_catalog`), served on a loopback socket. The
partners service is the shop's simulation of its outside partners; it runs as a uvicorn
process on a free port (started by its module path, never imported), so timeouts, hangs
and hang-ups are real network behaviour, and the tests set its faults through its admin
API. Checkout reaches both over HTTP, as in production.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, Final

import httpx
import pytest

from checkout.config import CheckoutSettings
from checkout.main import create_app
from mercato_shared.testing.app_client import app_client
from mercato_shared.testing.loopback import free_port, serve_on_loopback
from mercato_shared.testing.partners_admin import PartnersAdmin
from mercato_shared.testing.suite import ServiceSuite

from .fake_catalog import fake_catalog

SUITE: Final = ServiceSuite(CheckoutSettings, create_app)
PARTNERS_APP: Final = "partners.main:create_app"
BIN = Path(sys.executable).parent
READY_GUARD_SECONDS: Final = 30  # a guard against a process that never answers


@pytest.fixture(scope="session")
def suite() -> ServiceSuite[CheckoutSettings]:
    return SUITE


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_GUARD_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server for {url} exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} not ready after {READY_GUARD_SECONDS} s")


@pytest.fixture(scope="session")
def partners_url() -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env |= {"LOG_LEVEL": "WARNING", "PARTNERS_RANDOM_SEED": "7"}
    port = free_port()
    process = subprocess.Popen(
        [
            *(str(BIN / "uvicorn"), PARTNERS_APP, "--factory", "--host", "127.0.0.1"),
            *("--port", str(port), "--timeout-graceful-shutdown", "1"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


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
