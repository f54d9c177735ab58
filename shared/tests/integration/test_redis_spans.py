"""Redis client spans against a real Redis: made inside a sampled span, and only there."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, cast

import pytest
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON
from opentelemetry.trace import SpanKind
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from mercato_shared.telemetry import instrument_redis
from mercato_shared.testing.redis_databases import redis_url_of

TEST_REDIS_URL = redis_url_of("shared")


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.shutdown()


def provider(exporter: InMemorySpanExporter, *, sampled: bool) -> TracerProvider:
    tracer_provider = TracerProvider(sampler=ALWAYS_ON if sampled else ALWAYS_OFF)
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    return tracer_provider


@pytest.fixture
async def client(exporter: InMemorySpanExporter) -> AsyncIterator[Redis]:
    redis = Redis.from_url(TEST_REDIS_URL, socket_timeout=1)
    instrument_redis(redis, tracer_provider=provider(exporter, sampled=True))
    await redis.delete("spans:k")
    yield redis
    await redis.delete("spans:k")
    await redis.aclose()


def redis_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [
        s
        for s in exporter.get_finished_spans()
        if s.kind == SpanKind.CLIENT and (s.attributes or {}).get("db.system") == "redis"
    ]


async def test_a_command_inside_a_sampled_span_is_a_child_client_span(
    client: Redis, exporter: InMemorySpanExporter
) -> None:
    tracer = provider(exporter, sampled=True).get_tracer("test")
    with tracer.start_as_current_span("request") as request:
        await client.set("spans:k", "v")
        assert await client.get("spans:k") == b"v"
    (set_span, get_span) = redis_spans(exporter)
    assert (set_span.name, get_span.name) == ("SET", "GET")
    assert get_span.parent is not None
    assert get_span.parent.span_id == request.get_span_context().span_id


async def test_pipelines_inside_a_sampled_span_are_traced(
    client: Redis, exporter: InMemorySpanExporter
) -> None:
    tracer = provider(exporter, sampled=True).get_tracer("test")
    with tracer.start_as_current_span("request"):
        async with client.pipeline(transaction=True) as pipe:
            pipe.set("spans:k", "1")
            pipe.incr("spans:k")
            assert await pipe.execute() == [True, 2]
    assert len(redis_spans(exporter)) == 1


async def test_no_span_outside_a_trace_or_in_an_unsampled_one(
    client: Redis, exporter: InMemorySpanExporter
) -> None:
    await client.set("spans:k", "v")
    unsampled = provider(exporter, sampled=False).get_tracer("test")
    with unsampled.start_as_current_span("request"):
        assert await client.get("spans:k") == b"v"
        async with client.pipeline() as pipe:
            pipe.get("spans:k")
            assert await pipe.execute() == [b"v"]
    assert redis_spans(exporter) == []


async def _library_and_ours(
    exporter: InMemorySpanExporter, command: tuple[str, ...]
) -> tuple[ReadableSpan, ReadableSpan]:
    """The same command traced by the library alone and by `instrument_redis`."""
    tracer_provider = provider(exporter, sampled=True)
    library = Redis.from_url(TEST_REDIS_URL, socket_timeout=1)
    RedisInstrumentor.instrument_client(library, tracer_provider=tracer_provider)
    ours = Redis.from_url(TEST_REDIS_URL, socket_timeout=1)
    instrument_redis(ours, tracer_provider=tracer_provider)
    try:
        with tracer_provider.get_tracer("test").start_as_current_span("request"):
            for client in (library, ours):
                with contextlib.suppress(ResponseError):
                    await cast("Callable[..., Awaitable[Any]]", client.execute_command)(*command)
    finally:
        await library.aclose()
        await ours.aclose()
    first, second = redis_spans(exporter)
    return first, second


@pytest.mark.parametrize(
    "command", [("GET", "spans:k"), ("NOSUCHCOMMAND", "x")], ids=["get", "error"]
)
async def test_a_command_span_is_the_one_the_library_makes(
    exporter: InMemorySpanExporter, command: tuple[str, ...]
) -> None:
    library, ours = await _library_and_ours(exporter, command)
    assert (ours.name, ours.kind) == (library.name, library.kind)
    assert dict(ours.attributes or {}) == dict(library.attributes or {})
    assert ours.status.status_code == library.status.status_code
    assert ours.status.description == library.status.description
    assert [event.name for event in ours.events] == [event.name for event in library.events]
