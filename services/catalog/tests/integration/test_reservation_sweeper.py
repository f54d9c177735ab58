"""The reservation sweeper against the real Postgres and Redis, and a fake of orders over HTTP.

An abandoned reservation (no order was written with it) is made to look old by moving its
`touched_at` back past the TTL, which is exactly what waiting would do.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import text

from catalog.clients import OrdersClient, OrdersUnavailableError
from catalog.config import CatalogSettings
from catalog.sweeper import ReservationSweeper, SweepResult
from mercato_shared.cache import Cache
from mercato_shared.db import autocommit, create_engine, create_session_factory
from mercato_shared.testing.loopback import free_port

from .fake_orders import FakeOrders
from .test_reservations import SERVICE, make, reservation, stock_of

TTL = 900


@dataclass
class Shop:
    """Catalog (its app and database), the orders upstream, and sweepers to run."""

    client: httpx.AsyncClient
    product: Callable[..., dict[str, Any]]
    upstream: FakeOrders
    settings: Callable[..., CatalogSettings]
    orders_client: Callable[..., OrdersClient]
    redis: Redis

    async def make(self, sku: str, stock: int) -> int:
        return await make(self.client, self.product, sku, stock)

    async def stock(self, product_id: int) -> int:
        return await stock_of(self.client, product_id)

    async def reserve(self, *lines: tuple[int, int]) -> uuid.UUID:
        body = reservation(*lines)
        response = await self.client.post("/reservations", json=body, headers=SERVICE)
        assert response.status_code == 201, response.text
        return uuid.UUID(body["id"])

    async def age(self, *reservation_ids: uuid.UUID, seconds: int) -> None:
        """Move the reservations' last touch `seconds` into the past."""
        engine = create_engine(self.settings())
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE reservations SET touched_at = now() - make_interval(secs => :s) "
                    "WHERE id = ANY(:ids)"
                ),
                {"s": seconds, "ids": list(reservation_ids)},
            )
        await engine.dispose()

    async def state(self, reservation_id: uuid.UUID) -> tuple[bool, bool]:
        """(released, confirmed) of one reservation."""
        engine = create_engine(self.settings())
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT released_at, confirmed_at FROM reservations WHERE id = :id"),
                    {"id": reservation_id},
                )
            ).one()
        await engine.dispose()
        return row.released_at is not None, row.confirmed_at is not None

    @asynccontextmanager
    async def sweeper(self, **overrides: Any) -> AsyncIterator[ReservationSweeper]:
        settings = self.settings(reservation_ttl_seconds=TTL, **overrides)
        engine = create_engine(settings)
        cache = Cache(self.redis, namespace="catalog", ttl_seconds=settings.cache_ttl_seconds)
        try:
            yield ReservationSweeper(
                create_session_factory(engine),
                autocommit(engine),
                cache,
                self.orders_client(settings),
                settings,
            )
        finally:
            await engine.dispose()


@pytest.fixture
def shop(
    client: httpx.AsyncClient,
    product: Callable[..., dict[str, Any]],
    upstream: FakeOrders,
    job_settings: Callable[..., CatalogSettings],
    orders_client: Callable[..., OrdersClient],
    redis: Redis,
) -> Shop:
    return Shop(client, product, upstream, job_settings, orders_client, redis)


async def test_an_abandoned_reservation_is_released_once_and_its_stock_returns(shop: Shop) -> None:
    kettle = await shop.make("KIT-S001", 10)
    mug = await shop.make("KIT-S002", 4)
    abandoned = await shop.reserve((kettle, 3), (mug, 4))
    assert (await shop.stock(kettle), await shop.stock(mug)) == (7, 0)

    async with shop.sweeper() as sweeper:
        assert await sweeper.sweep() == SweepResult(confirmed=0, released=0)  # not old yet
        await shop.age(abandoned, seconds=TTL + 1)
        assert await sweeper.sweep() == SweepResult(confirmed=0, released=1)
        assert await sweeper.sweep() == SweepResult(confirmed=0, released=0)  # idempotent

    assert (await shop.stock(kettle), await shop.stock(mug)) == (10, 4)
    assert await shop.state(abandoned) == (True, False)
    # Orders retrying with the same reservation id cannot take the stock silently again.
    retry = await shop.client.post(
        "/reservations", json=reservation((kettle, 3), (mug, 4), rid=abandoned), headers=SERVICE
    )
    assert retry.status_code == 409
    assert retry.json()["error"]["code"] == "reservation_conflict"
    # orders' own compensation arriving late changes nothing either
    assert (
        await shop.client.delete(f"/reservations/{abandoned}", headers=SERVICE)
    ).status_code == 204
    assert await shop.stock(kettle) == 10


async def test_a_reservation_an_order_was_written_with_is_never_released(shop: Shop) -> None:
    kettle = await shop.make("KIT-S011", 10)
    ordered = await shop.reserve((kettle, 2))
    await shop.upstream.add_order(datetime.now(UTC), [(kettle, 2)], reservation_id=ordered)
    await shop.age(ordered, seconds=TTL + 1)

    async with shop.sweeper() as sweeper:
        assert await sweeper.sweep() == SweepResult(confirmed=1, released=0)
        await shop.age(ordered, seconds=10 * TTL)
        assert await sweeper.sweep() == SweepResult(confirmed=0, released=0)

    assert await shop.state(ordered) == (False, True)
    assert await shop.stock(kettle) == 8


async def test_a_retried_reservation_starts_its_ttl_again(shop: Shop) -> None:
    """An Idempotency-Key retry that reuses the reservation gets it back; the order it is
    about to write must find the stock still reserved."""
    kettle = await shop.make("KIT-S021", 5)
    body = reservation((kettle, 1))
    assert (await shop.client.post("/reservations", json=body, headers=SERVICE)).status_code == 201
    rid = uuid.UUID(body["id"])
    await shop.age(rid, seconds=TTL + 1)
    assert (await shop.client.post("/reservations", json=body, headers=SERVICE)).status_code == 200

    async with shop.sweeper() as sweeper:
        assert await sweeper.sweep() == SweepResult(confirmed=0, released=0)
    assert await shop.state(rid) == (False, False)
    assert await shop.stock(kettle) == 4


async def test_concurrent_sweepers_and_releases_give_the_stock_back_exactly_once(
    shop: Shop,
) -> None:
    kettle = await shop.make("KIT-S031", 50)
    abandoned = [await shop.reserve((kettle, 2)) for _ in range(12)]
    kept = await shop.reserve((kettle, 5))
    await shop.upstream.add_order(datetime.now(UTC), [(kettle, 5)], reservation_id=kept)
    assert await shop.stock(kettle) == 50 - 24 - 5
    await shop.age(*abandoned, kept, seconds=TTL + 1)

    async with shop.sweeper() as first, shop.sweeper() as second, shop.sweeper() as third:
        results = await asyncio.gather(
            first.sweep(),
            second.sweep(),
            third.sweep(),
            # orders' compensation of two of them, at the same moment
            shop.client.delete(f"/reservations/{abandoned[0]}", headers=SERVICE),
            shop.client.delete(f"/reservations/{abandoned[1]}", headers=SERVICE),
        )
        sweeps = [r for r in results if isinstance(r, SweepResult)]
        assert [r.status_code for r in results if isinstance(r, httpx.Response)] == [204, 204]
        assert sum(r.confirmed for r in sweeps) == 1  # one UPDATE wins, the others see it done
        released_by_sweepers = sum(r.released for r in sweeps)
        assert 10 <= released_by_sweepers <= 12  # the two deletes may have won theirs
        assert await first.sweep() == SweepResult(confirmed=0, released=0)

    assert await shop.stock(kettle) == 45  # 50 minus the kept order's 5, nothing twice
    for rid in abandoned:
        assert await shop.state(rid) == (True, False)
    assert await shop.state(kept) == (False, True)


async def test_nothing_is_released_while_orders_cannot_answer(shop: Shop) -> None:
    kettle = await shop.make("KIT-S041", 5)
    rid = await shop.reserve((kettle, 5))
    await shop.age(rid, seconds=TTL + 1)

    async with shop.sweeper(orders_url=f"http://127.0.0.1:{free_port()}") as sweeper:
        with pytest.raises(OrdersUnavailableError):
            await sweeper.sweep()
    assert await shop.state(rid) == (False, False)
    assert await shop.stock(kettle) == 0
