"""The server span/metric middleware on the SDK's parts, against in-memory exporters (no network).

The accelerator's tests (`packages/otel-accelerator/tests/test_hooks.py`) run the same
requests through both and compare what they export.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    InMemoryMetricReader,
    NumberDataPoint,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler
from opentelemetry.trace import SpanKind, StatusCode

from mercato_shared.telemetry.hooks import StockHooks
from tests.telemetry.traced_app import metric_points, traced_app


@dataclass
class Traced:
    client: httpx.AsyncClient
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader


def build_app(sampler: Sampler) -> tuple[FastAPI, InMemorySpanExporter, InMemoryMetricReader]:
    # SDK providers, as `init_telemetry` installs, and the SDK's tracer and histogram.
    reader = InMemoryMetricReader()
    app, exporter = traced_app(StockHooks(), sampler, MeterProvider(metric_readers=[reader]))
    return app, exporter, reader


async def client_for(sampler: Sampler) -> AsyncIterator[Traced]:
    app, exporter, reader = build_app(sampler)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Traced(client, exporter, reader)


@pytest.fixture
async def traced() -> AsyncIterator[Traced]:
    async for value in client_for(ALWAYS_ON):
        yield value


@pytest.fixture
async def unsampled() -> AsyncIterator[Traced]:
    async for value in client_for(ALWAYS_OFF):
        yield value


def duration_points(reader: InMemoryMetricReader) -> list[HistogramDataPoint]:
    points = metric_points(reader.get_metrics_data(), "http.server.request.duration")
    assert all(isinstance(point, HistogramDataPoint) for point in points)
    return points


async def test_one_server_span_named_by_route_template(traced: Traced) -> None:
    response = await traced.client.get("/items/7")
    assert response.status_code == 200
    (span,) = traced.spans.get_finished_spans()
    assert span.name == "GET /items/{item_id}"
    assert span.kind is SpanKind.SERVER
    assert span.attributes is not None
    assert span.attributes["http.route"] == "/items/{item_id}"
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["url.path"] == "/items/7"
    trace_id = format(span.context.trace_id, "032x")
    assert response.headers["x-trace-id"] == trace_id
    version, header_trace, header_span, flags = response.headers["traceresponse"].split("-")
    assert (version, header_trace, header_span) == ("00", trace_id, f"{span.context.span_id:016x}")
    assert int(flags, 16) & 0x01  # sampled


async def test_unknown_methods_are_one_name_not_a_series_each(traced: Traced) -> None:
    await traced.client.request("BREW", "/items/7")
    (span,) = traced.spans.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["http.request.method"] == "_OTHER"
    assert not span.name.startswith("BREW")


async def test_continues_the_callers_traceparent(traced: Traced) -> None:
    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    response = await traced.client.get(
        "/items/1", headers={"traceparent": f"00-{trace_id}-{parent}-01"}
    )
    (span,) = traced.spans.get_finished_spans()
    assert format(span.context.trace_id, "032x") == trace_id
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == parent
    assert response.headers["x-trace-id"] == trace_id


async def test_error_body_carries_the_trace_id(traced: Traced) -> None:
    response = await traced.client.get("/items/404")
    assert response.status_code == 404
    (span,) = traced.spans.get_finished_spans()
    assert response.json()["error"]["trace_id"] == format(span.context.trace_id, "032x")
    assert span.status.status_code is StatusCode.UNSET


async def test_unhandled_exception_is_a_500_and_an_error_span(traced: Traced) -> None:
    response = await traced.client.get("/items/500")
    assert response.status_code == 500
    assert "boom" not in response.text
    (span,) = traced.spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "500"
    assert [event.name for event in span.events] == ["exception"]
    assert response.json()["error"]["trace_id"] == format(span.context.trace_id, "032x")


async def test_unsampled_requests_still_have_a_trace_id(unsampled: Traced) -> None:
    response = await unsampled.client.get("/items/404")
    assert unsampled.spans.get_finished_spans() == ()
    trace_id = response.headers["x-trace-id"]
    assert len(trace_id) == 32
    assert response.json()["error"]["trace_id"] == trace_id
    assert not int(response.headers["traceresponse"].rsplit("-", 1)[1], 16) & 0x01


async def test_duration_histogram_by_route_method_status(traced: Traced) -> None:
    for path in ("/items/1", "/items/2", "/items/404", "/nowhere"):
        await traced.client.get(path)
    by_attributes = {
        tuple(sorted((point.attributes or {}).items())): point.count
        for point in duration_points(traced.metrics)
    }
    ok = (
        ("http.request.method", "GET"),
        ("http.response.status_code", 200),
        ("http.route", "/items/{item_id}"),
    )
    assert by_attributes[ok] == 2
    not_found = (("http.request.method", "GET"), ("http.response.status_code", 404))
    assert by_attributes[not_found] == 1


async def test_sampled_requests_leave_exemplars(traced: Traced) -> None:
    await traced.client.get("/items/3")
    (span,) = traced.spans.get_finished_spans()
    (point,) = duration_points(traced.metrics)
    assert [e.trace_id for e in point.exemplars] == [span.context.trace_id]


async def test_unsampled_requests_leave_no_exemplar(unsampled: Traced) -> None:
    await unsampled.client.get("/items/3")
    (point,) = duration_points(unsampled.metrics)
    assert point.count == 1
    assert point.exemplars == []


async def test_active_requests_are_observed(traced: Traced) -> None:
    await traced.client.get("/items/3")
    (point,) = metric_points(traced.metrics.get_metrics_data(), "http.server.active_requests")
    assert isinstance(point, NumberDataPoint)
    assert point.value == 0  # the request has finished
