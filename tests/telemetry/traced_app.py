"""A FastAPI app behind `ServerTelemetryMiddleware`, its spans kept in memory (tests only).

Routes: `GET /items/{item_id}` answers 200, or 404 (`NotFoundError`) for 404, or raises
(a 500) for 500; any other path is an unrouted 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricsData
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Sampler

from mercato_shared.errors import NotFoundError, install_error_handlers
from mercato_shared.middleware import RequestContextMiddleware
from mercato_shared.telemetry.hooks import TelemetryHooks
from mercato_shared.telemetry.server import ServerTelemetryMiddleware


def traced_app(
    hooks: TelemetryHooks, sampler: Sampler, meter_provider: MeterProvider
) -> tuple[FastAPI, InMemorySpanExporter]:
    """The app, with SDK providers as `init_telemetry` installs them, and its span exporter."""
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider(sampler=sampler)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        if item_id == 404:
            raise NotFoundError("no such item")
        if item_id == 500:
            raise RuntimeError("boom")
        return {"id": item_id}

    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(
        ServerTelemetryMiddleware,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        hooks=hooks,
    )
    return app, spans


def metric_points(data: MetricsData | None, name: str) -> list[Any]:
    """Every data point of the metric `name` in one collection (any resource, any scope)."""
    if data is None:
        raise AssertionError("nothing was collected")
    return [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]
