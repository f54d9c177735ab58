"""Mercato's OpenTelemetry accelerator: the telemetry hooks built on SDK internals (opt-in).

`Accelerator` is what `mercato_shared.telemetry.hooks` loads (entry point `accelerator` of
the group `mercato_shared.telemetry`) when `MERCATO_OTEL_ACCELERATOR=true`:

* `lean_tracer`, `lean_span`: the server and Redis spans, started with the SDK tracer's
  sampling decision, recorded in a lock-free span that is its own `ReadableSpan`;
* `otlp_spans`, `exporter`: finished spans written as OTLP protobuf bytes directly, sent by
  the SDK's OTLP/HTTP span exporter;
* `histogram`: `http.server.request.duration` aggregated in plain Python and added to the
  SDK's metric export (cumulative only, no Views: README.md).

Every module reads private fields of the SDK of one minor version (`SUPPORTED_SDK`), so the
package refuses to start under another.
"""

from __future__ import annotations

import os
from typing import Final

from opentelemetry import metrics, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.version import __version__ as sdk_version

from mercato_otel_accelerator.exporter import LeanOTLPSpanExporter
from mercato_otel_accelerator.histogram import DurationHistogram, HistogramMetricExporter
from mercato_otel_accelerator.lean_tracer import span_starter
from mercato_shared.telemetry.hooks import HistogramSpec, SpanStarter

# The SDK minor version whose internals this package reads (pyproject.toml pins the same).
SUPPORTED_SDK: Final = "1.45."
TEMPORALITY_VARIABLE: Final = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"


class Accelerator:
    """The telemetry hooks of `mercato_shared.telemetry.hooks.TelemetryHooks`, accelerated.

    One instance per process (the hooks loader makes it): the duration histograms it makes
    are exported with the metrics of the exporters it made.
    """

    name = "accelerator"

    def __init__(self) -> None:
        if not sdk_version.startswith(SUPPORTED_SDK):
            raise RuntimeError(
                f"mercato-otel-accelerator reads internals of opentelemetry-sdk "
                f"{SUPPORTED_SDK}x and this process has {sdk_version}: unset "
                "MERCATO_OTEL_ACCELERATOR, or port the package to this version"
            )
        self._metric_exporters: list[HistogramMetricExporter] = []

    def span_exporter(self) -> LeanOTLPSpanExporter:
        return LeanOTLPSpanExporter()

    def metric_exporter(self, resource: Resource) -> HistogramMetricExporter:
        """The SDK's OTLP/HTTP metric exporter, plus this accelerator's histograms.

        The histograms are cumulative only: a delta or low-memory temporality preference
        would export them cumulative beside delta SDK metrics, so it is refused.
        """
        preference = os.environ.get(TEMPORALITY_VARIABLE, "").strip().lower()
        if preference not in ("", "cumulative"):
            raise RuntimeError(
                f"{TEMPORALITY_VARIABLE}={preference}: the accelerator's histogram is "
                "cumulative only; unset MERCATO_OTEL_ACCELERATOR for delta temporality"
            )
        exporter = HistogramMetricExporter(resource, scope_name="mercato.http.server")
        self._metric_exporters.append(exporter)
        return exporter

    def tracer(self, name: str, provider: trace.TracerProvider | None) -> SpanStarter:
        return span_starter(name, provider)

    def duration_histogram(
        self, spec: HistogramSpec, meter_provider: metrics.MeterProvider | None
    ) -> DurationHistogram:
        """A plain-Python histogram exported with this accelerator's metric exporters.

        `meter_provider` is not used: the histogram is not an SDK instrument.
        """
        histogram = DurationHistogram(
            spec.name, unit=spec.unit, description=spec.description, boundaries=spec.boundaries
        )
        for exporter in self._metric_exporters:
            exporter.register(histogram)
        return histogram


__all__ = ["SUPPORTED_SDK", "Accelerator"]
