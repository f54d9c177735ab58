"""OpenTelemetry bootstrap, configured only through the standard `OTEL_*` variables.

Tracing and metrics are switched on when an OTLP endpoint is configured
(`OTEL_EXPORTER_OTLP_ENDPOINT` or the per-signal variants) and `OTEL_SDK_DISABLED` is not
`true`. Otherwise the API stays a no-op and instrumentation is not installed at all, so a
process that exports nothing also pays nothing.
"""

from __future__ import annotations

import os
from typing import Final

import httpx
from fastapi import FastAPI
from opentelemetry import metrics, trace
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from sqlalchemy.ext.asyncio import AsyncEngine

_ENDPOINT_VARIABLES: Final = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)


def telemetry_enabled() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return any(os.environ.get(name) for name in _ENDPOINT_VARIABLES)


def init_telemetry(service_name: str) -> None:
    """Install the tracer and meter providers once per process (they are process-global).

    The sampler, batch sizes and exporter endpoint come from the standard variables
    (`OTEL_TRACES_SAMPLER`, `OTEL_BSP_*`, `OTEL_EXPORTER_OTLP_*`); `OTEL_SERVICE_NAME`
    overrides the service name.
    """
    if not telemetry_enabled() or isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    reader = PeriodicExportingMetricReader(OTLPMetricExporter())
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))
    RedisInstrumentor().instrument()


def instrument_app(app: FastAPI) -> None:
    if telemetry_enabled():
        # The per-message ASGI send/receive spans double the span count for no insight.
        FastAPIInstrumentor.instrument_app(app, exclude_spans=["receive", "send"])


def instrument_engine(engine: AsyncEngine) -> None:
    if telemetry_enabled():
        SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine)


def instrument_http_client(client: httpx.AsyncClient) -> None:
    if telemetry_enabled():
        HTTPXClientInstrumentor.instrument_client(client)
