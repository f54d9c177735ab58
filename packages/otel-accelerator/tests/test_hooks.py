"""The switch, and the server middleware on the accelerator against the SDK's own parts.

The same requests go through `ServerTelemetryMiddleware` twice, once with the stock hooks
(the SDK's tracer, spans and histogram) and once with the accelerator's; what each exports
must be the same but for ids and times.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, MetricsData
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, Sampler, TraceIdRatioBased

from mercato_otel_accelerator import TEMPORALITY_VARIABLE, Accelerator
from mercato_otel_accelerator.exporter import LeanOTLPSpanExporter
from mercato_otel_accelerator.histogram import HistogramMetricExporter
from mercato_otel_accelerator.lean_span import LeanSpan
from mercato_shared.telemetry.hooks import (
    ACCELERATOR_VARIABLE,
    StockHooks,
    TelemetryHooks,
    load_hooks,
)
from tests.telemetry.traced_app import metric_points, traced_app

PATHS = ("/items/1", "/items/2", "/items/404", "/items/500", "/nowhere", "/items/1?x=1")


def test_the_switch_loads_the_accelerator_through_its_entry_point() -> None:
    hooks = load_hooks({ACCELERATOR_VARIABLE: "true"})
    assert isinstance(hooks, Accelerator)
    assert isinstance(load_hooks({}), StockHooks)
    assert isinstance(load_hooks({ACCELERATOR_VARIABLE: "false"}), StockHooks)
    typed: TelemetryHooks = Accelerator()  # mypy checks the protocol, isinstance at run time
    assert isinstance(typed, TelemetryHooks)


def test_a_missing_package_fails_clearly() -> None:
    with pytest.raises(RuntimeError, match="no installed package provides"):
        load_hooks({ACCELERATOR_VARIABLE: "true"}, group="mercato_shared.telemetry.nobody")


def test_an_unclear_switch_value_fails_clearly() -> None:
    with pytest.raises(ValueError, match=ACCELERATOR_VARIABLE):
        load_hooks({ACCELERATOR_VARIABLE: "maybe"})


def test_the_accelerators_exporters_are_its_own() -> None:
    accelerator = Accelerator()
    assert type(accelerator.span_exporter()) is LeanOTLPSpanExporter
    assert type(accelerator.metric_exporter(Resource.create({}))) is HistogramMetricExporter


def test_a_delta_temporality_preference_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TEMPORALITY_VARIABLE, "delta")
    with pytest.raises(RuntimeError, match="cumulative only"):
        Accelerator().metric_exporter(Resource.create({}))


async def send(app: FastAPI, headers: dict[str, str]) -> None:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for path in PATHS:
            await client.get(path, headers=headers)


def span_fields(spans: Sequence[ReadableSpan]) -> list[tuple[Any, ...]]:
    return [
        (
            span.name,
            span.kind,
            dict(span.attributes or {}),
            span.status.status_code,
            span.status.description,
            [(event.name, sorted((event.attributes or {}).keys())) for event in span.events],
            span.parent.span_id if span.parent else None,
            span.instrumentation_scope.name if span.instrumentation_scope else None,
        )
        for span in spans
    ]


def point_fields(points: Sequence[HistogramDataPoint]) -> list[tuple[Any, ...]]:
    """What does not depend on how long each request took (which bucket it falls in)."""
    return sorted(
        (
            tuple(sorted((point.attributes or {}).items())),
            point.count,
            sum(point.bucket_counts),
            tuple(point.explicit_bounds),
            bool(point.exemplars),
        )
        for point in points
    )


def duration_points(data: MetricsData | None) -> list[HistogramDataPoint]:
    points = metric_points(data, "http.server.request.duration")
    assert all(isinstance(point, HistogramDataPoint) for point in points)
    return points


@pytest.mark.parametrize(
    ("sampler", "headers"),
    [
        (ALWAYS_ON, {}),
        (ParentBased(TraceIdRatioBased(0.0)), {}),
        (ParentBased(TraceIdRatioBased(0.0)), {"traceparent": f"00-{'ab' * 16}-{'cd' * 8}-01"}),
    ],
    ids=["always_on", "dropped roots", "sampled by the caller"],
)
async def test_the_middleware_exports_what_it_exports_on_the_sdk(
    sampler: Sampler, headers: dict[str, str]
) -> None:
    stock_reader = InMemoryMetricReader()
    stock_app, stock_spans = traced_app(StockHooks(), sampler, MeterProvider([stock_reader]))
    accelerator = Accelerator()
    # The accelerator's histogram goes out with the metric exporter it made; read it there.
    metric_exporter = accelerator.metric_exporter(Resource.create({}))
    ours_app, ours_spans = traced_app(accelerator, sampler, MeterProvider([InMemoryMetricReader()]))
    await send(stock_app, headers)
    await send(ours_app, headers)

    stock_finished = stock_spans.get_finished_spans()
    ours_finished = ours_spans.get_finished_spans()
    assert all(type(span) is ReadableSpan for span in stock_finished)  # the SDK's `_Span` copy
    assert all(type(span) is LeanSpan for span in ours_finished)
    assert span_fields(ours_finished) == span_fields(stock_finished)

    stock_points = duration_points(stock_reader.get_metrics_data())
    ours_points = duration_points(metric_exporter.with_histograms(MetricsData([])))
    assert point_fields(ours_points) == point_fields(stock_points)
    assert len(stock_points) == 4  # 200, 404, 500 and the unrouted 404
    for finished, points in ((stock_finished, stock_points), (ours_finished, ours_points)):
        exemplar_traces = {e.trace_id for point in points for e in point.exemplars}
        assert exemplar_traces <= {span.context.trace_id for span in finished}
