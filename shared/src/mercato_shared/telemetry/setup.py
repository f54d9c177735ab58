"""Process-wide OpenTelemetry providers, configured only through the standard `OTEL_*` variables.

Telemetry is on when an OTLP endpoint is configured (`OTEL_EXPORTER_OTLP_ENDPOINT` or a
per-signal variant) and `OTEL_SDK_DISABLED` is not `true`. Otherwise the API stays a no-op
and no instrumentation is installed, so a process that exports nothing pays nothing.

When on, the process exports traces, metrics and logs over OTLP/HTTP (protobuf). The SDK
reads every standard variable itself (`OTEL_TRACES_SAMPLER[_ARG]`, `OTEL_BSP_*`,
`OTEL_BLRP_*`, `OTEL_EXPORTER_OTLP_*`, `OTEL_RESOURCE_ATTRIBUTES`,
`OTEL_METRIC_EXPORT_INTERVAL`); only two defaults differ from the SDK's, and only when the
variable is unset:

* sampler: `parentbased_traceidratio` with ratio `DEFAULT_SAMPLING_RATIO` (the SDK's default
  is to sample everything; see `bench/README.md` for what each setting costs);
* metric export interval: 15 s (the SDK's 60 s leaves Grafana's `rate()` panels empty);
* `OTEL_SEMCONV_STABILITY_OPT_IN=http`: the stable HTTP attribute names on client spans.

The exporters come from `hooks.telemetry_hooks()`: the SDK's stock OTLP/HTTP exporters
unless `MERCATO_OTEL_ACCELERATOR` switches the accelerator package on.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import uuid
from dataclasses import dataclass
from typing import Final

from opentelemetry import metrics, trace
from opentelemetry._logs import set_logger_provider
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased

from mercato_shared.telemetry.hooks import TelemetryHooks, telemetry_hooks
from mercato_shared.telemetry.state import telemetry_active, telemetry_enabled

DEFAULT_SAMPLING_RATIO: Final = 0.1
DEFAULT_METRIC_EXPORT_INTERVAL_MS: Final = 15_000


def default_sampler() -> Sampler | None:
    """Our default when `OTEL_TRACES_SAMPLER` is unset; None lets the SDK read the variable."""
    if os.environ.get("OTEL_TRACES_SAMPLER"):
        return None
    return ParentBased(TraceIdRatioBased(DEFAULT_SAMPLING_RATIO))


def build_resource(service_name: str) -> Resource:
    """`service.name` (OTEL_SERVICE_NAME wins) and a per-process `service.instance.id`.

    The instance id keeps the cumulative metrics of two worker processes of one service
    apart (Prometheus would otherwise see one series going back and forth). No
    `service.namespace`: it would turn Prometheus's `job` label into `namespace/name`.
    """
    name = os.environ.get("OTEL_SERVICE_NAME") or service_name
    return Resource.create({"service.name": name, "service.instance.id": uuid.uuid4().hex})


@dataclass(frozen=True, slots=True)
class Providers:
    """The three SDK providers of a process and the exporters behind them."""

    tracer_provider: TracerProvider
    span_processor: BatchSpanProcessor
    span_exporter: SpanExporter
    meter_provider: MeterProvider
    metric_exporter: MetricExporter
    logger_provider: LoggerProvider
    log_exporter: LogRecordExporter


def build_providers(resource: Resource, hooks: TelemetryHooks) -> Providers:
    """Tracer, meter and logger providers exporting over OTLP/HTTP with `hooks`' exporters."""
    span_exporter = hooks.span_exporter()
    span_processor = BatchSpanProcessor(span_exporter)
    tracer_provider = TracerProvider(resource=resource, sampler=default_sampler())
    tracer_provider.add_span_processor(span_processor)

    interval = (
        None if os.environ.get("OTEL_METRIC_EXPORT_INTERVAL") else DEFAULT_METRIC_EXPORT_INTERVAL_MS
    )
    metric_exporter = hooks.metric_exporter(resource)
    reader = PeriodicExportingMetricReader(metric_exporter, export_interval_millis=interval)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])

    log_exporter = OTLPLogExporter()
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(log_exporter))
    return Providers(
        tracer_provider,
        span_processor,
        span_exporter,
        meter_provider,
        metric_exporter,
        logger_provider,
        log_exporter,
    )


def init_telemetry(service_name: str) -> bool:
    """Install the tracer, meter and logger providers once per process.

    Call it in every process that does work: the app factory does it for services; Celery
    workers call it in `worker_process_init` (task spans and task metrics follow by
    themselves; `celery.instrument_celery_metrics(app)` adds the queue depth). Returns
    whether telemetry is active. Safe to call twice.
    """
    if telemetry_active():
        return True
    if not telemetry_enabled():
        return False
    # Stable HTTP semantic conventions (`http.request.method`, `url.full`, ...) on the
    # library instrumentations' client spans, as the collector's span metrics expect.
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")
    providers = build_providers(build_resource(service_name), telemetry_hooks())
    trace.set_tracer_provider(providers.tracer_provider)
    metrics.set_meter_provider(providers.meter_provider)
    set_logger_provider(providers.logger_provider)
    logging.getLogger().addHandler(LoggingHandler(logger_provider=providers.logger_provider))

    # SQL and Redis clients are instrumented per client by the lifespan that owns them
    # (`instrument_engine`, `instrument_redis`); the HTTP session by `instrument_http_client`,
    # which the lifespan calls before it creates the session.
    if importlib.util.find_spec("celery") is not None:
        from mercato_shared.telemetry.celery import instrument_celery_process  # noqa: PLC0415

        instrument_celery_process()
    return True
