"""A cumulative explicit-bucket histogram aggregated in plain Python, exported by the SDK.

Why not the SDK's `Histogram.record`: every call builds a `Measurement`, hashes the
attributes into a frozenset, walks the reader storages and the view matches, asks the
exemplar filter and takes the aggregation's lock. For `http.server.request.duration` that
is once per request, a visible share of a cached read's CPU (`bench/README.md` has the
figures). Here a record is a dict lookup, a `bisect` and a few additions.

What the SDK still does: `HistogramMetricExporter` (the SDK's OTLP/HTTP metric exporter)
adds this histogram's points to each export of the process's `PeriodicExportingMetricReader`,
as `HistogramDataPoint`s with the same resource, so the collector, Prometheus and the
dashboards cannot tell the difference. Exemplars follow the SDK's defaults: the
`OTEL_METRICS_EXEMPLAR_FILTER` variable (`trace_based` unless set: only measurements taken
inside a sampled span), the last one per bucket, cleared after each export.

What it does not do: it is not an SDK instrument, so Views do not apply to it (no renaming,
no other aggregation or buckets, no attribute filtering) and its temporality is always
cumulative (`Accelerator.metric_exporter` refuses a delta preference). Mercato configures
no Views; a fork that does must leave the accelerator off.
"""

from __future__ import annotations

import os
import threading
import time
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import Exemplar
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricExportResult,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext

from mercato_shared.telemetry.hooks import SeriesKey

_FILTERS: Final = frozenset({"always_on", "always_off", "trace_based"})


def exemplar_filter() -> str:
    """`OTEL_METRICS_EXEMPLAR_FILTER`, as the SDK reads it (`trace_based` when unset or unknown)."""
    value = os.environ.get("OTEL_METRICS_EXEMPLAR_FILTER", "").strip().lower()
    return value if value in _FILTERS else "trace_based"


@dataclass(slots=True)
class _Series:
    counts: list[int]
    total: float = 0.0
    low: float = float("inf")
    high: float = float("-inf")
    # bucket index -> (value, time, span context) of the last exemplar offered to it
    exemplars: dict[int, tuple[float, int, SpanContext]] = field(default_factory=dict)


class DurationHistogram:
    """One histogram instrument: `record` on the request path, `collect` at export time."""

    def __init__(
        self,
        name: str,
        *,
        unit: str,
        description: str,
        boundaries: Sequence[float],
    ) -> None:
        self.name = name
        self.unit = unit
        self.description = description
        self._boundaries = tuple(boundaries)
        self._series: dict[SeriesKey, _Series] = {}
        self._lock = threading.Lock()
        self._start_time = time.time_ns()
        self._filter = exemplar_filter()

    def record(self, value: float, key: SeriesKey, span_context: SpanContext | None) -> None:
        """Count `value` in the series `key`; `span_context` is the current span's, if any.

        A value equal to a boundary falls in that boundary's bucket (`le`), as in the SDK.
        """
        bucket = bisect_left(self._boundaries, value)
        with self._lock:
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = _Series([0] * (len(self._boundaries) + 1))
            series.counts[bucket] += 1
            series.total += value
            series.low = min(series.low, value)
            series.high = max(series.high, value)
            if span_context is not None and self._wants_exemplar(span_context):
                series.exemplars[bucket] = (value, time.time_ns(), span_context)

    def _wants_exemplar(self, span_context: SpanContext) -> bool:
        if self._filter == "trace_based":
            return span_context.trace_flags.sampled
        return self._filter == "always_on" and span_context.is_valid

    def collect(self) -> Metric | None:
        """The cumulative points so far (None before the first record); clears the exemplars."""
        now = time.time_ns()
        with self._lock:
            snapshot = [
                (key, list(s.counts), s.total, s.low, s.high, s.exemplars)
                for key, s in self._series.items()
            ]
            for series in self._series.values():
                series.exemplars = {}
        if not snapshot:
            return None
        points = [
            HistogramDataPoint(
                attributes=dict(key),
                start_time_unix_nano=self._start_time,
                time_unix_nano=now,
                count=sum(counts),
                sum=total,
                bucket_counts=counts,
                explicit_bounds=self._boundaries,
                min=low,
                max=high,
                exemplars=[_exemplar(*exemplars[bucket]) for bucket in sorted(exemplars)],
            )
            for key, counts, total, low, high, exemplars in snapshot
        ]
        return Metric(
            name=self.name,
            description=self.description,
            unit=self.unit,
            data=Histogram(
                data_points=points, aggregation_temporality=AggregationTemporality.CUMULATIVE
            ),
        )


def _exemplar(value: float, at: int, span_context: SpanContext) -> Exemplar:
    # Only valid span contexts are kept (`_wants_exemplar`).
    return Exemplar(
        filtered_attributes=None,
        value=value,
        time_unix_nano=at,
        span_id=span_context.span_id,
        trace_id=span_context.trace_id,
    )


class HistogramMetricExporter(OTLPMetricExporter):
    """The SDK's OTLP/HTTP metric exporter, plus the points of the registered histograms.

    Each export of the reader gets every registered histogram's `collect()` as one more
    scope (`scope_name`) of the process's resource. Everything else (endpoint, temporality
    preference, retries) is the stock exporter's. The reader only exports when the SDK itself
    has a metric: the server middleware's observable `http.server.active_requests` is one.
    """

    def __init__(self, resource: Resource, *, scope_name: str) -> None:
        super().__init__()
        self._resource = resource
        self._scope = InstrumentationScope(scope_name)
        self._histograms: list[DurationHistogram] = []

    def register(self, histogram: DurationHistogram) -> None:
        self._histograms.append(histogram)

    def export(
        self,
        metrics_data: MetricsData,
        timeout_millis: float | None = 10_000,
        **kwargs: Any,
    ) -> MetricExportResult:
        return super().export(self.with_histograms(metrics_data), timeout_millis, **kwargs)

    def with_histograms(self, metrics_data: MetricsData) -> MetricsData:
        """`metrics_data` plus a scope with the registered histograms' points (if any)."""
        collected = [metric for h in self._histograms if (metric := h.collect()) is not None]
        if not collected:
            return metrics_data
        ours = ScopeMetrics(scope=self._scope, metrics=collected, schema_url="")
        resources = list(metrics_data.resource_metrics)
        if resources:
            first = resources[0]
            scopes = [*first.scope_metrics, ours]
            resources[0] = ResourceMetrics(first.resource, scopes, first.schema_url)
        else:
            resources.append(ResourceMetrics(self._resource, [ours], ""))
        return MetricsData(resource_metrics=resources)
