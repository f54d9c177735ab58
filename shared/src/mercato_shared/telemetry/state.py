"""Whether telemetry is configured and installed in this process, and flushing what it holds.

Kept apart from `setup` so that the modules `setup` installs (the Celery hooks) can ask
without importing it back.
"""

from __future__ import annotations

import os
from typing import Final

from opentelemetry import metrics, trace
from opentelemetry._logs import get_logger_provider
from opentelemetry.sdk.trace import TracerProvider

ENDPOINT_VARIABLES: Final = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
)


def telemetry_enabled() -> bool:
    """An OTLP endpoint is configured and `OTEL_SDK_DISABLED` is not `true`."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(os.environ.get(name) for name in ENDPOINT_VARIABLES)


def telemetry_active() -> bool:
    """True once `init_telemetry` has installed the SDK providers in this process."""
    return isinstance(trace.get_tracer_provider(), TracerProvider)


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
