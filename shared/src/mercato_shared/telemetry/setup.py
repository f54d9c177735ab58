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
"""

from __future__ import annotations

import importlib.util
import logging
import os
import uuid
from typing import Final

from opentelemetry import metrics, trace
from opentelemetry._logs import get_logger_provider, set_logger_provider
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased

from mercato_shared.telemetry.exporter import LeanOTLPSpanExporter
from mercato_shared.telemetry.histogram import DurationHistogram, HistogramMetricExporter

DEFAULT_SAMPLING_RATIO: Final = 0.1
DEFAULT_METRIC_EXPORT_INTERVAL_MS: Final = 15_000

_ENDPOINT_VARIABLES: Final = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
)


# The process's metric exporter, which also exports the plain-Python histograms.
_metric_exporter: HistogramMetricExporter | None = None


def register_histogram(histogram: DurationHistogram) -> None:
    """Export `histogram` with the process's metrics (nothing while telemetry is off)."""
    if _metric_exporter is not None:
        _metric_exporter.register(histogram)


def telemetry_enabled() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(os.environ.get(name) for name in _ENDPOINT_VARIABLES)


def telemetry_active() -> bool:
    """True once `init_telemetry` has installed the SDK providers in this process."""
    return isinstance(trace.get_tracer_provider(), TracerProvider)


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
    resource = build_resource(service_name)

    tracer_provider = TracerProvider(resource=resource, sampler=default_sampler())
    tracer_provider.add_span_processor(BatchSpanProcessor(LeanOTLPSpanExporter()))
    trace.set_tracer_provider(tracer_provider)

    interval = (
        None if os.environ.get("OTEL_METRIC_EXPORT_INTERVAL") else DEFAULT_METRIC_EXPORT_INTERVAL_MS
    )
    global _metric_exporter  # noqa: PLW0603 - process-wide, like the SDK's global providers
    _metric_exporter = HistogramMetricExporter(resource, scope_name="mercato.http.server")
    reader = PeriodicExportingMetricReader(_metric_exporter, export_interval_millis=interval)
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))

    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
    set_logger_provider(logger_provider)
    logging.getLogger().addHandler(LoggingHandler(logger_provider=logger_provider))

    # SQL, Redis and HTTP clients are instrumented per client by the lifespan that owns
    # them (`instrument_engine`, `instrument_redis`, `instrument_http_client`).
    if importlib.util.find_spec("celery") is not None:
        from mercato_shared.telemetry.celery import instrument_celery_process  # noqa: PLC0415

        instrument_celery_process()
    return True


def flush_telemetry(timeout_millis: int = 5_000) -> None:
    """Export whatever the batch processors still hold (before a process exits abruptly)."""
    for provider in (
        trace.get_tracer_provider(),
        metrics.get_meter_provider(),
        get_logger_provider(),
    ):
        force_flush = getattr(provider, "force_flush", None)
        if callable(force_flush):
            force_flush(timeout_millis)
