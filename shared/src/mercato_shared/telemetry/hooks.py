"""Where the hot-path telemetry parts come from: the OpenTelemetry SDK, or an opt-in accelerator.

The parts are the span exporter, the metric exporter, the tracer that starts the server and
Redis spans, and the `http.server.request.duration` histogram. By default they are the SDK's
own (`StockHooks`), used only through documented APIs:

* spans: the SDK `TracerProvider`'s tracer and spans, batched by `BatchSpanProcessor` into
  the stock `OTLPSpanExporter` (OTLP/HTTP protobuf);
* metrics: the stock `OTLPMetricExporter` behind a `PeriodicExportingMetricReader`, and the
  duration histogram is an SDK histogram (Views, temporality and exemplars as the SDK does
  them).

`MERCATO_OTEL_ACCELERATOR=true` swaps in the package that registers the entry point
`accelerator` in the group `mercato_shared.telemetry` (`packages/otel-accelerator`: cheaper
spans, OTLP encoding and histogram that read SDK internals and are pinned to one SDK minor
version; its README says what it buys and costs). Nothing imports it unless the variable is
on, and a process with the variable on and no such package fails at start with a message
saying so.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Final, Protocol, runtime_checkable

from opentelemetry import context as context_api
from opentelemetry import metrics, trace
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics.export import MetricExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.trace import SpanContext, SpanKind
from opentelemetry.util.types import AttributeValue

ACCELERATOR_VARIABLE: Final = "MERCATO_OTEL_ACCELERATOR"
ENTRY_POINT_GROUP: Final = "mercato_shared.telemetry"
ENTRY_POINT_NAME: Final = "accelerator"
_ON: Final = frozenset({"true", "1", "yes", "on"})
_OFF: Final = frozenset({"", "false", "0", "no", "off"})

# The attributes of one histogram series, in a fixed order (the middleware builds it per request).
SeriesKey = tuple[tuple[str, AttributeValue], ...]


@dataclass(frozen=True, slots=True)
class HistogramSpec:
    """What names a duration histogram: the instrument's name, unit, description, buckets."""

    name: str
    unit: str
    description: str
    boundaries: Sequence[float]


class SpanStarter(Protocol):
    """What our instrumentation needs of a tracer (the SDK's, the API's or an accelerator's)."""

    def start_span(
        self,
        name: str,
        *,
        kind: SpanKind = ...,
        context: context_api.Context | None = ...,
        attributes: Mapping[str, AttributeValue] | None = ...,
    ) -> trace.Span: ...


class DurationRecorder(Protocol):
    """A duration histogram as the server middleware records into it."""

    def record(self, value: float, key: SeriesKey, span_context: SpanContext) -> None:
        """Count `value` in series `key`, inside the span of `span_context` (for exemplars)."""


@runtime_checkable
class TelemetryHooks(Protocol):
    """The parts `init_telemetry`, the server middleware and the Redis spans take from here."""

    name: str

    def span_exporter(self) -> SpanExporter: ...

    def metric_exporter(self, resource: Resource) -> MetricExporter: ...

    def tracer(self, name: str, provider: trace.TracerProvider | None) -> SpanStarter: ...

    def duration_histogram(
        self, spec: HistogramSpec, meter_provider: metrics.MeterProvider | None
    ) -> DurationRecorder: ...


class SdkDurationHistogram:
    """An SDK histogram behind the `DurationRecorder` interface.

    The exemplar comes from the current context, which is the request's span's while the
    middleware records (the SDK's `trace_based` filter keeps it only for sampled spans).
    """

    __slots__ = ("instrument",)

    def __init__(self, instrument: metrics.Histogram) -> None:
        self.instrument = instrument

    def record(self, value: float, key: SeriesKey, span_context: SpanContext) -> None:
        self.instrument.record(value, dict(key))


class StockHooks:
    """The SDK's own parts, through documented APIs only (the default)."""

    name = "stock"

    def span_exporter(self) -> SpanExporter:
        return OTLPSpanExporter()

    def metric_exporter(self, resource: Resource) -> MetricExporter:
        return OTLPMetricExporter()

    def tracer(self, name: str, provider: trace.TracerProvider | None) -> SpanStarter:
        return trace.get_tracer(name, tracer_provider=provider)

    def duration_histogram(
        self, spec: HistogramSpec, meter_provider: metrics.MeterProvider | None
    ) -> DurationRecorder:
        meter = metrics.get_meter("mercato.http.server", meter_provider=meter_provider)
        histogram = meter.create_histogram(
            spec.name,
            unit=spec.unit,
            description=spec.description,
            explicit_bucket_boundaries_advisory=spec.boundaries,
        )
        return SdkDurationHistogram(histogram)


def accelerator_requested(environ: Mapping[str, str]) -> bool:
    """Whether `MERCATO_OTEL_ACCELERATOR` switches the accelerator on (off when unset)."""
    value = environ.get(ACCELERATOR_VARIABLE, "").strip().lower()
    if value in _ON:
        return True
    if value in _OFF:
        return False
    raise ValueError(f"{ACCELERATOR_VARIABLE}={value!r}: expected true or false")


def load_hooks(environ: Mapping[str, str], *, group: str = ENTRY_POINT_GROUP) -> TelemetryHooks:
    """The stock hooks, or the accelerator's when the variable asks for it (see above)."""
    if not accelerator_requested(environ):
        return StockHooks()
    found = entry_points(group=group, name=ENTRY_POINT_NAME)
    if not found:
        raise RuntimeError(
            f"{ACCELERATOR_VARIABLE} is on but no installed package provides the entry point "
            f"{ENTRY_POINT_NAME!r} in group {group!r}: install "
            "packages/otel-accelerator (`uv sync --all-packages` does) or unset the variable"
        )
    if len(found) > 1:
        raise RuntimeError(f"more than one package provides {ENTRY_POINT_NAME!r}: {found}")
    (entry_point,) = found
    hooks = entry_point.load()()
    if not isinstance(hooks, TelemetryHooks):
        raise TypeError(f"{entry_point.value} does not provide the telemetry hooks")
    return hooks


@functools.cache
def telemetry_hooks() -> TelemetryHooks:
    """This process's hooks, chosen once from its environment."""
    return load_hooks(os.environ)
