"""Idempotency-Key claims after failures: freed at once where the database allows it, a short
lease where it does not; the same reservation id reused, so stock is taken once; retention.

Faults are injected on the way to the fake of catalog (`Faults`, an ASGI app in front of
catalog's, served on a loopback port): answers lost, releases refused, a reservation held
up, Postgres stopped at the moment the reservation passes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from mercato_shared.db import create_engine
from mercato_shared.migrations import migrate
from mercato_shared.testing.servers import OwnServer
from orders.config import OrdersSettings
from orders.migrate import MIGRATIONS
from orders.service import Claims

from ..conftest import orders_app, orders_settings
from ..fake_catalog import FakeCatalog
from .test_orders import CUSTOMER, count, make_product, order

Hook = Callable[[httpx.Request], Awaitable[httpx.Response | None]]


class Faults:
    """An ASGI app in front of catalog's: passes requests on, except where a hook answers
    (or acts) first. Served on a loopback port like the fake it fronts, so orders' calls
    meet the faults over a real socket."""

    def __init__(self, inner: ASGIApp) -> None:
        self._inner = inner
        self.hooks: dict[str, Hook] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hook = self.hooks.get(scope["method"]) if scope["type"] == "http" else None
        if hook is None or "/reservations" not in scope["path"]:
            await self._inner(scope, receive, send)
            return
        incoming = Request(scope, receive)
        request = httpx.Request(
            incoming.method,
            str(incoming.url),
            headers=incoming.headers.raw,
            content=await incoming.body(),
        )
        answer = await hook(request)
        if answer is None:
            answer = await self.forward(request)
        passed = {k: v for k, v in answer.headers.items() if k != "content-length"}
        response = Response(answer.content, status_code=answer.status_code, headers=passed)
        await response(scope, receive, send)

    async def forward(self, request: httpx.Request) -> httpx.Response:
        """`request` as catalog's app answers it (in process, behind this front)."""
        transport = httpx.ASGITransport(app=self._inner)
        async with httpx.AsyncClient(transport=transport) as inner:
            return await inner.send(request)


def unavailable() -> httpx.Response:
    return httpx.Response(503, json={"error": {"code": "dependency_unavailable"}})


async def stock(catalog: FakeCatalog, product: int) -> int:
    return catalog.stock(product)


async def test_a_lost_answer_and_a_refused_release_keep_the_reservation_for_the_retry(
    catalog: FakeCatalog, migrated: OrdersSettings
) -> None:
    """Catalog reserved, the answer was lost and the release refused: the retry (at once)
    reuses the claim's reservation id, so the stock is taken once, not twice."""
    kettle = await make_product(catalog, "KIT-C001", stock=10)
    faults = Faults(catalog.app)

    async def lost(request: httpx.Request) -> httpx.Response:
        await faults.forward(request)  # catalog takes the stock ...
        return unavailable()  # ... and the answer never arrives

    async def refused(_: httpx.Request) -> httpx.Response:
        return unavailable()

    faults.hooks = {"POST": lost, "DELETE": refused}
    headers = CUSTOMER | {"Idempotency-Key": "lost-answer-1"}
    async with orders_app(faults, migrated) as orders:
        failed = await orders.post("/orders", json=order((kettle, 2)), headers=headers)
        assert failed.status_code == 503, failed.text
        assert failed.json()["error"]["code"] == "dependency_unavailable"
        assert await stock(catalog, kettle) == 8  # held under the claim's reservation id
        faults.hooks = {}
        retried = await orders.post("/orders", json=order((kettle, 2)), headers=headers)
        assert retried.status_code == 201, retried.text
        replayed = await orders.post("/orders", json=order((kettle, 2)), headers=headers)
    assert replayed.json() == retried.json()
    assert await count(migrated, "orders") == 1
    assert await stock(catalog, kettle) == 8, "taken once"


async def test_a_refused_reservation_frees_the_key_at_once(
    catalog: FakeCatalog, migrated: OrdersSettings
) -> None:
    kettle = await make_product(catalog, "KIT-C002", stock=10)
    faults = Faults(catalog.app)

    async def down(_: httpx.Request) -> httpx.Response:
        return unavailable()

    faults.hooks = {"POST": down}
    headers = CUSTOMER | {"Idempotency-Key": "catalog-down-1"}
    async with orders_app(faults, migrated) as orders:
        assert (
            await orders.post("/orders", json=order((kettle, 1)), headers=headers)
        ).status_code == 503
        faults.hooks = {}
        retried = await orders.post("/orders", json=order((kettle, 1)), headers=headers)
    assert retried.status_code == 201, retried.text
    assert await stock(catalog, kettle) == 9


async def test_postgres_down_mid_request_frees_the_key_seconds_after_it_is_back(
    catalog: FakeCatalog, own_postgres: OwnServer
) -> None:
    """Postgres stops after the claim is committed and as the stock is reserved: the order
    cannot be written (503) and neither can the claim be freed. Its lease runs out, so a
    client retrying with backoff succeeds soon after Postgres is back (not minutes later)."""
    settings = orders_settings(postgres_url=own_postgres.url, idempotency_lease_seconds=2)
    await asyncio.to_thread(migrate, settings, MIGRATIONS)
    kettle = await make_product(catalog, "KIT-C003", stock=10)
    faults = Faults(catalog.app)

    async def stop_postgres(request: httpx.Request) -> None:
        faults.hooks = {}
        await asyncio.to_thread(own_postgres.stop)

    faults.hooks = {"POST": stop_postgres}
    headers = CUSTOMER | {"Idempotency-Key": "pg-down-1"}
    async with orders_app(faults, settings) as orders:
        failed = await orders.post("/orders", json=order((kettle, 3)), headers=headers)
        assert failed.status_code == 503, failed.text
        assert failed.json()["error"]["code"] == "dependency_unavailable"
        assert "retry-after" in failed.headers
        assert await stock(catalog, kettle) == 10, "the reservation was given back"
        await asyncio.to_thread(own_postgres.start)
        statuses = []
        for attempt in range(10):  # backoff 0.5, 1, 1.5 ... s: 27 s in all at most
            response = await orders.post("/orders", json=order((kettle, 3)), headers=headers)
            statuses.append(response.status_code)
            if response.status_code == 201:
                break
            assert response.status_code in (409, 503), response.text
            await asyncio.sleep(0.5 * (attempt + 1))
    assert statuses[-1] == 201, statuses
    assert await stock(catalog, kettle) == 7, "taken once"
    engine = create_async_engine(settings.database_url)
    async with engine.connect() as conn:
        orders_count = (await conn.execute(text("SELECT count(*) FROM orders"))).scalar_one()
    await engine.dispose()
    assert orders_count == 1


async def test_a_request_that_outlives_the_lease_keeps_its_claim(
    catalog: FakeCatalog, migrated: OrdersSettings
) -> None:
    # The catalog call is held far longer than the lease, and no attempt times out meanwhile:
    # only the renewals keep the claim.
    settings = orders_settings(
        idempotency_lease_seconds=3, catalog_timeout=30.0, catalog_deadline=60.0
    )
    kettle = await make_product(catalog, "KIT-C004", stock=10)
    faults = Faults(catalog.app)
    parked, release = asyncio.Event(), asyncio.Event()

    async def slow(request: httpx.Request) -> None:
        faults.hooks = {}
        parked.set()
        await release.wait()

    faults.hooks = {"POST": slow}
    headers = CUSTOMER | {"Idempotency-Key": "slow-1"}
    async with orders_app(faults, settings) as orders:
        first = asyncio.create_task(
            orders.post("/orders", json=order((kettle, 1)), headers=headers)
        )
        await parked.wait()
        await asyncio.sleep(4.5)  # past one lease: only the renewals keep the claim
        duplicate = await orders.post("/orders", json=order((kettle, 1)), headers=headers)
        release.set()
        created = await first
        replayed = await orders.post("/orders", json=order((kettle, 1)), headers=headers)
    assert duplicate.status_code == 409, duplicate.text
    assert duplicate.json()["error"]["code"] == "idempotency_key_in_progress"
    assert created.status_code == 201, created.text
    assert replayed.json()["id"] == created.json()["id"]
    assert await count(migrated, "orders") == 1
    assert await stock(catalog, kettle) == 9


async def test_keys_expire_after_their_retention(
    client: httpx.AsyncClient, catalog: FakeCatalog, migrated: OrdersSettings
) -> None:
    kettle = await make_product(catalog, "KIT-C005", stock=10)
    headers = CUSTOMER | {"Idempotency-Key": "old-key-1"}
    first = await client.post("/orders", json=order((kettle, 1)), headers=headers)
    assert first.status_code == 201
    await age_keys(migrated, hours=25)
    # Past the retention the key is as good as unused: another body is a new order, not 422.
    second = await client.post("/orders", json=order((kettle, 2)), headers=headers)
    assert second.status_code == 201, second.text
    assert second.json()["id"] != first.json()["id"]

    other = CUSTOMER | {"Idempotency-Key": "old-key-2"}
    assert (await client.post("/orders", json=order((kettle, 1)), headers=other)).status_code == 201
    await age_keys(migrated, hours=25, key="old-key-2")
    engine = create_engine(migrated)
    claims = Claims(engine, migrated)
    assert await claims.cleanup() == 1
    assert await claims.cleanup() == 0
    await engine.dispose()
    assert await count(migrated, "idempotency_keys") == 1  # old-key-1, renewed by its reuse


async def age_keys(settings: OrdersSettings, *, hours: int, key: str | None = None) -> None:
    engine = create_async_engine(settings.database_url)
    params: dict[str, Any] = {"hours": hours, "key": key}
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE idempotency_keys SET created_at = now() - make_interval(hours => :hours) "
                "WHERE CAST(:key AS text) IS NULL OR key = :key"
            ),
            params,
        )
    await engine.dispose()
