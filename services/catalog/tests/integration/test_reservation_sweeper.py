"""The reservation sweeper against the real Postgres, Redis and the real orders app over HTTP.

An abandoned reservation (no order was written with it) is made to look old by moving its
`touched_at` back past the TTL, which is exactly what waiting would do.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import text

from catalog.config import CatalogSettings
from catalog.orders_client import OrdersClient, OrdersUnavailableError
from catalog.sweeper import ReservationSweeper, SweepResult
from mercato_shared.cache import Cache
from mercato_shared.db import create_engine, create_session_factory

from .conftest import closed_port
from .orders_upstream import OrdersUpstream
from .test_reservations import SERVICE, make, reservation, stock_of

Payload = Callable[..., dict[str, Any]]
TTL = 900


@pytest.fixture
def sweeper_for(
    job_settings: Callable[..., CatalogSettings],
    orders_client: Callable[..., OrdersClient],
    redis: Redis,
) -> Callable[..., Any]:
    @asynccontextmanager
    async def open_sweeper(**overrides: Any) -> AsyncIterator[ReservationSweeper]:
        settings = job_settings(reservation_ttl_seconds=TTL, **overrides)
        engine = create_engine(settings)
        cache = Cache(redis, namespace="catalog", ttl_seconds=settings.cache_ttl_seconds)
        try:
            yield ReservationSweeper(
                create_session_factory(engine), cache, orders_client(settings), settings
            )
        finally:
            await engine.dispose()

    return open_sweeper


async def reserve(client: httpx.AsyncClient, *lines: tuple[int, int]) -> uuid.UUID:
    body = reservation(*lines)
    response = await client.post("/reservations", json=body, headers=SERVICE)
    assert response.status_code == 201, response.text
    return uuid.UUID(body["id"])


async def age(settings: CatalogSettings, *reservation_ids: uuid.UUID, seconds: int) -> None:
    """Move the reservations' last touch `seconds` into the past."""
    engine = create_engine(settings)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE reservations SET touched_at = now() - make_interval(secs => :s) "
                "WHERE id = ANY(:ids)"
            ),
            {"s": seconds, "ids": list(reservation_ids)},
        )
    await engine.dispose()


async def state(settings: CatalogSettings, reservation_id: uuid.UUID) -> tuple[bool, bool]:
    """(released, confirmed) of one reservation."""
    engine = create_engine(settings)
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT released_at, confirmed_at FROM reservations WHERE id = :id"),
                {"id": reservation_id},
            )
        ).one()
    await engine.dispose()
    return row.released_at is not None, row.confirmed_at is not None


async def test_an_abandoned_reservation_is_released_once_and_its_stock_returns(
    client: httpx.AsyncClient,
    product: Payload,
    upstream: OrdersUpstream,
    job_settings: Callable[..., CatalogSettings],
    sweeper_for: Callable[..., Any],
) -> None:
    kettle = await make(client, product, "KIT-S001", 10)
    mug = await make(client, product, "KIT-S002", 4)
    abandoned = await reserve(client, (kettle, 3), (mug, 4))
    assert (await stock_of(client, kettle), await stock_of(client, mug)) == (7, 0)

    async with sweeper_for() as sweeper:
        assert await sweeper.sweep() == SweepResult(confirmed=0, released=0)  # not old yet
        await age(job_settings(), abandoned, seconds=TTL + 1)
        assert await sweeper.sweep() == SweepResult(confirmed=0, released=1)
        assert await sweeper.sweep() == SweepResult(confirmed=0, released=0)  # idempotent

    assert (await stock_of(client, kettle), await stock_of(client, mug)) == (10, 4)
    assert await state(job_settings(), abandoned) == (True, False)
    # Orders retrying with the same reservation id cannot take the stock silently again.
    retry = await client.post(
        "/reservations", json=reservation((kettle, 3), (mug, 4), rid=abandoned), headers=SERVICE
    )
    assert retry.status_code == 409
    assert retry.json()["error"]["code"] == "reservation_conflict"
    # orders' own compensation arriving late changes nothing either
    assert (await client.delete(f"/reservations/{abandoned}", headers=SERVICE)).status_code == 204
    assert await stock_of(client, kettle) == 10


async def test_a_reservation_an_order_was_written_with_is_never_released(
    client: httpx.AsyncClient,
    product: Payload,
    upstream: OrdersUpstream,
    job_settings: Callable[..., CatalogSettings],
    sweeper_for: Callable[..., Any],
) -> None:
    kettle = await make(client, product, "KIT-S011", 10)
    ordered = await reserve(client, (kettle, 2))
    await upstream.add_order(datetime.now(UTC), [(kettle, 2)], reservation_id=ordered)
    await age(job_settings(), ordered, seconds=TTL + 1)

    async with sweeper_for() as sweeper:
        assert await sweeper.sweep() == SweepResult(confirmed=1, released=0)
        await age(job_settings(), ordered, seconds=10 * TTL)
        assert await sweeper.sweep() == SweepResult(confirmed=0, released=0)

    assert await state(job_settings(), ordered) == (False, True)
    assert await stock_of(client, kettle) == 8


async def test_a_retried_reservation_starts_its_ttl_again(
    client: httpx.AsyncClient,
    product: Payload,
    upstream: OrdersUpstream,
    job_settings: Callable[..., CatalogSettings],
    sweeper_for: Callable[..., Any],
) -> None:
    """An Idempotency-Key retry that reuses the reservation gets it back; the order it is
    about to write must find the stock still reserved."""
    kettle = await make(client, product, "KIT-S021", 5)
    body = reservation((kettle, 1))
    assert (await client.post("/reservations", json=body, headers=SERVICE)).status_code == 201
    rid = uuid.UUID(body["id"])
    await age(job_settings(), rid, seconds=TTL + 1)
    assert (await client.post("/reservations", json=body, headers=SERVICE)).status_code == 200

    async with sweeper_for() as sweeper:
        assert await sweeper.sweep() == SweepResult(confirmed=0, released=0)
    assert await state(job_settings(), rid) == (False, False)
    assert await stock_of(client, kettle) == 4


async def test_concurrent_sweepers_and_releases_give_the_stock_back_exactly_once(
    client: httpx.AsyncClient,
    product: Payload,
    upstream: OrdersUpstream,
    job_settings: Callable[..., CatalogSettings],
    sweeper_for: Callable[..., Any],
) -> None:
    kettle = await make(client, product, "KIT-S031", 50)
    abandoned = [await reserve(client, (kettle, 2)) for _ in range(12)]
    kept = await reserve(client, (kettle, 5))
    await upstream.add_order(datetime.now(UTC), [(kettle, 5)], reservation_id=kept)
    assert await stock_of(client, kettle) == 50 - 24 - 5
    await age(job_settings(), *abandoned, kept, seconds=TTL + 1)

    async with sweeper_for() as first, sweeper_for() as second, sweeper_for() as third:
        results = await asyncio.gather(
            first.sweep(),
            second.sweep(),
            third.sweep(),
            # orders' compensation of two of them, at the same moment
            client.delete(f"/reservations/{abandoned[0]}", headers=SERVICE),
            client.delete(f"/reservations/{abandoned[1]}", headers=SERVICE),
        )
        sweeps = [r for r in results if isinstance(r, SweepResult)]
        released_by_sweepers = sum(r.released for r in sweeps)
        assert 10 <= released_by_sweepers <= 12  # the two deletes may have won theirs
        assert await first.sweep() == SweepResult(confirmed=0, released=0)

    assert await stock_of(client, kettle) == 45  # 50 minus the kept order's 5, nothing twice
    for rid in abandoned:
        assert await state(job_settings(), rid) == (True, False)
    assert await state(job_settings(), kept) == (False, True)


async def test_nothing_is_released_while_orders_cannot_answer(
    client: httpx.AsyncClient,
    product: Payload,
    upstream: OrdersUpstream,
    job_settings: Callable[..., CatalogSettings],
    sweeper_for: Callable[..., Any],
) -> None:
    kettle = await make(client, product, "KIT-S041", 5)
    rid = await reserve(client, (kettle, 5))
    await age(job_settings(), rid, seconds=TTL + 1)

    async with sweeper_for(orders_url=f"http://127.0.0.1:{closed_port()}") as sweeper:
        with pytest.raises(OrdersUnavailableError):
            await sweeper.sweep()
    assert await state(job_settings(), rid) == (False, False)
    assert await stock_of(client, kettle) == 0
