"""Checkout test fixtures: real catalog and partners processes, checkout in this process.

Catalog (database `itb_catalog`, Redis database 11) and partners run as uvicorn processes on
free ports, so timeouts and hangs are real network behaviour; the checkout app under test
runs in-process (lifespan and all) and reaches them over HTTP like in production.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis

from checkout.config import CheckoutSettings
from checkout.main import create_app
from conftest import free_port
from partners.admin_client import PartnersAdmin

IT_REDIS_URL = "redis://127.0.0.1:6379/11"
IT_PREFIX = "itb_"
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[3]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    # Catalog's periodic jobs read orders, which these tests do not run.
    test_env = {"DATABASE_PREFIX": IT_PREFIX, "REDIS_URL": IT_REDIS_URL, "LOG_LEVEL": "WARNING"}
    return env | test_env | {"PERIODIC_JOBS": "false"}


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server for {url} exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} not ready after 30 s")


def _serve(app: str, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            *(str(BIN / "uvicorn"), app, "--factory", "--host", "127.0.0.1"),
            *("--port", str(port), "--timeout-graceful-shutdown", "1"),
        ],
        cwd=ROOT,
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
def catalog_url() -> Iterator[str]:
    env = _env()
    for argv in (["catalog.migrate"], ["catalog.seed", "--count", "20"]):
        subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, env=env, check=True)
    yield from _serve("catalog.main:create_app", env)


@pytest.fixture(scope="session")
def partners_url() -> Iterator[str]:
    yield from _serve("partners.main:create_app", _env() | {"PARTNERS_RANDOM_SEED": "7"})


@pytest.fixture
async def partners(partners_url: str) -> AsyncIterator[PartnersAdmin]:
    """Partners reset before and after each test; the test Redis database emptied."""
    redis = Redis.from_url(IT_REDIS_URL)
    await redis.flushdb()
    await redis.aclose()
    async with httpx.AsyncClient(base_url=partners_url, timeout=5) as client:
        admin = PartnersAdmin(client)
        await admin.reset()
        yield admin
        await admin.reset()


@pytest.fixture
async def test_redis() -> AsyncIterator[Redis]:
    """A client on the Redis database the checkout under test uses (for setup only)."""
    redis = Redis.from_url(IT_REDIS_URL)
    yield redis
    await redis.aclose()


CheckoutFactory = Callable[..., Any]


@pytest.fixture
def checkout_for(catalog_url: str, partners_url: str, partners: PartnersAdmin) -> CheckoutFactory:
    """Open a client on an in-process checkout app; keyword arguments override settings."""

    @asynccontextmanager
    async def open_client(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        values: dict[str, Any] = {
            "catalog_url": catalog_url,
            "partners_url": partners_url,
            "redis_url": IT_REDIS_URL,
        } | overrides
        app = create_app(CheckoutSettings(**values))
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://checkout", timeout=10
            ) as client:
                yield client

    return open_client


@pytest.fixture
async def checkout(checkout_for: CheckoutFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with checkout_for() as client:
        yield client
