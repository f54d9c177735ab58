"""Catalog's periodic jobs against the real Postgres and Redis, and a fake of orders over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from redis.asyncio import Redis

from catalog.clients import OrdersClient
from catalog.config import CatalogSettings
from catalog.main import create_app
from catalog.periodic import PeriodicJob, run_once
from catalog.popular import POPULAR_KEY, ranking_for, refresh_popular
from mercato_shared.testing.app_client import app_client
from mercato_shared.testing.redis_databases import redis_url_of

from .fake_orders import FakeOrders

NOW = datetime(2026, 3, 20, tzinfo=UTC)


async def test_the_ranking_is_built_from_the_orders_export_and_served_by_catalog(
    upstream: FakeOrders,
    job_settings: Callable[..., CatalogSettings],
    orders_client: Callable[..., OrdersClient],
    client: httpx.AsyncClient,
    redis: Redis,
) -> None:
    await upstream.add_order(NOW - timedelta(days=1), [(10, 2), (20, 1)])
    await upstream.add_order(NOW - timedelta(days=2), [(10, 1)])
    await upstream.add_order(NOW - timedelta(days=3), [(30, 1)])
    await upstream.add_order(NOW - timedelta(days=3, hours=1), [(20, 1)])
    await upstream.add_order(NOW - timedelta(days=40), [(30, 50)])  # outside the window
    # Pages of two orders: the job follows the export's cursor to the end.
    settings = job_settings(popular_days=30, popular_size=2, orders_page_size=2)

    count = await refresh_popular(
        orders_client(settings), ranking_for(redis, settings), settings, now=NOW
    )

    assert count == 2
    response = await client.get("/products/popular")
    assert response.status_code == 200
    assert response.json() == [{"product_id": 10, "units": 3}, {"product_id": 20, "units": 2}]
    assert 0 < await redis.ttl(POPULAR_KEY) <= settings.popular_refresh_seconds * 3


async def test_an_empty_export_empties_the_ranking(
    upstream: FakeOrders,
    job_settings: Callable[..., CatalogSettings],
    orders_client: Callable[..., OrdersClient],
    redis: Redis,
) -> None:
    settings = job_settings()
    await redis.zadd(POPULAR_KEY, {"7": 3})
    assert await refresh_popular(orders_client(), ranking_for(redis, settings), settings) == 0
    assert await redis.exists(POPULAR_KEY) == 0


async def test_the_app_runs_the_ranking_job_from_its_lifespan(
    upstream: FakeOrders, job_settings: Callable[..., CatalogSettings]
) -> None:
    await upstream.add_order(datetime.now(UTC) - timedelta(hours=1), [(42, 5)])
    settings = job_settings(periodic_jobs=True, popular_refresh_seconds=5)
    async with app_client(create_app(settings), "http://catalog") as catalog:
        ranked: list[object] = []
        async with asyncio.timeout(30):  # a guard against a hang, not a measurement
            while not ranked:
                ranked = (await catalog.get("/products/popular")).json()
                await asyncio.sleep(0.1)
    assert ranked == [{"product_id": 42, "units": 5}]


async def test_one_replica_runs_a_job_per_period(redis: Redis) -> None:
    runs: list[str] = []

    async def work() -> None:
        runs.append("ran")
        await asyncio.sleep(0)

    job = PeriodicJob("test-once-per-period", 60.0, work)
    other_replica = Redis.from_url(redis_url_of("catalog"))
    try:
        ran = await asyncio.gather(run_once(job, redis), run_once(job, other_replica))
        assert sorted(ran) == [False, True]
        assert runs == ["ran"]
        # The lease stays for the period: neither replica runs it again before it ends.
        assert await run_once(job, other_replica) is False
        assert await run_once(job, redis) is False
        assert 0 < await redis.pttl(job.lease_key) <= 60_000 * 0.9
    finally:
        await other_replica.aclose()


async def test_a_failed_run_gives_its_lease_back_and_a_hung_one_meets_its_deadline(
    redis: Redis,
) -> None:
    async def fail() -> None:
        raise RuntimeError("orders answered 500")

    failing = PeriodicJob("test-failing", 60.0, fail)
    assert await run_once(failing, redis) is False
    assert await redis.exists(failing.lease_key) == 0  # the next tick of any replica retries

    never = asyncio.Event()
    hung = PeriodicJob("test-hung", 5.0, never.wait)  # deadline: 80% of 5 s
    assert await run_once(hung, redis) is False
    assert await redis.exists(hung.lease_key) == 0


async def test_a_job_is_skipped_while_redis_is_unreachable(unreachable_redis: Redis) -> None:
    runs: list[str] = []

    async def work() -> None:
        runs.append("ran")

    assert await run_once(PeriodicJob("test-no-redis", 60.0, work), unreachable_redis) is False
    assert runs == []


async def test_each_run_is_one_trace_whose_span_parents_the_jobs_work(redis: Redis) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")

    async def work() -> None:
        with tracer.start_as_current_span("SELECT products"):
            await asyncio.sleep(0)

    async def fail() -> None:
        raise RuntimeError("orders answered 500")

    job = PeriodicJob("test-traced", 60.0, work)
    failing = PeriodicJob("test-traced-failing", 60.0, fail)
    try:
        assert await run_once(job, redis, tracer) is True
        assert await run_once(job, redis, tracer) is False  # lease held: no run, no span
        assert await run_once(failing, redis, tracer) is False
    finally:
        await redis.delete(job.lease_key)
        provider.shutdown()

    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert sorted(spans) == [
        "SELECT products",
        "periodic test-traced",
        "periodic test-traced-failing",
    ]
    run, child = spans["periodic test-traced"], spans["SELECT products"]
    assert run.parent is None
    assert run.attributes == {"mercato.job": "test-traced"}
    assert child.parent is not None
    assert child.parent.span_id == run.context.span_id
    failed = spans["periodic test-traced-failing"]
    assert failed.status.status_code is StatusCode.ERROR
    assert [event.name for event in failed.events] == ["exception"]
