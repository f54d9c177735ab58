"""`DurationHistogram` and `HistogramMetricExporter`: plain-Python aggregation, SDK data out."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import INVALID_SPAN_CONTEXT, SpanContext, TraceFlags

from mercato_otel_accelerator.histogram import DurationHistogram, HistogramMetricExporter

SAMPLED = SpanContext(0xA1, 0xB1, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
UNSAMPLED = SpanContext(0xA2, 0xB2, is_remote=False, trace_flags=TraceFlags(0))
GET_200 = (("http.request.method", "GET"), ("http.response.status_code", 200))
POST_201 = (("http.request.method", "POST"), ("http.response.status_code", 201))


def histogram() -> DurationHistogram:
    return DurationHistogram("d", unit="s", description="durations", boundaries=(0.1, 1.0))


def points(
    durations: DurationHistogram,
) -> dict[tuple[tuple[str, object], ...], HistogramDataPoint]:
    metric = durations.collect()
    assert metric is not None
    assert isinstance(metric.data, Histogram)
    assert metric.data.aggregation_temporality is AggregationTemporality.CUMULATIVE
    return {
        tuple((point.attributes or {}).items()): point
        for point in metric.data.data_points
        if isinstance(point, HistogramDataPoint)
    }


def test_nothing_recorded_is_no_metric() -> None:
    assert histogram().collect() is None


def test_buckets_are_upper_inclusive_and_series_apart() -> None:
    durations = histogram()
    for value in (0.05, 0.1, 0.5, 2.0):
        durations.record(value, GET_200, None)
    durations.record(0.2, POST_201, None)
    by_key = points(durations)
    get = by_key[GET_200]
    assert list(get.bucket_counts) == [2, 1, 1]
    assert (get.count, get.min, get.max) == (4, 0.05, 2.0)
    assert get.sum == pytest.approx(2.65)
    assert list(get.explicit_bounds) == [0.1, 1.0]
    assert list(by_key[POST_201].bucket_counts) == [0, 1, 0]


def test_counts_are_cumulative_across_collections() -> None:
    durations = histogram()
    durations.record(0.5, GET_200, None)
    first = points(durations)[GET_200]
    durations.record(0.5, GET_200, None)
    second = points(durations)[GET_200]
    assert (first.count, second.count) == (1, 2)
    assert first.start_time_unix_nano == second.start_time_unix_nano


def test_trace_based_exemplars_last_per_bucket_cleared_after_collect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_METRICS_EXEMPLAR_FILTER", raising=False)
    durations = histogram()
    durations.record(0.05, GET_200, UNSAMPLED)
    durations.record(0.5, GET_200, INVALID_SPAN_CONTEXT)
    durations.record(0.6, GET_200, SAMPLED)
    (exemplar,) = points(durations)[GET_200].exemplars
    assert (exemplar.value, exemplar.trace_id, exemplar.span_id) == (0.6, 0xA1, 0xB1)
    assert points(durations)[GET_200].exemplars == []


@pytest.mark.parametrize(("setting", "expected"), [("always_on", 2), ("always_off", 0)])
def test_the_exemplar_filter_variable_is_honoured(
    monkeypatch: pytest.MonkeyPatch, setting: str, expected: int
) -> None:
    monkeypatch.setenv("OTEL_METRICS_EXEMPLAR_FILTER", setting)
    durations = histogram()
    durations.record(0.05, GET_200, UNSAMPLED)
    durations.record(0.5, GET_200, SAMPLED)
    assert len(points(durations)[GET_200].exemplars) == expected


def test_the_exporter_adds_the_histograms_to_the_sdks_resource() -> None:
    resource = Resource.create({"service.name": "catalog"})
    exporter = HistogramMetricExporter(resource, scope_name="mercato.http.server")
    durations = histogram()
    exporter.register(durations)
    sdk_scope = ScopeMetrics(InstrumentationScope("mercato.cache"), [], "")
    sdk_data = MetricsData([ResourceMetrics(resource, [sdk_scope], "")])

    assert exporter.with_histograms(sdk_data) is sdk_data  # nothing recorded yet
    durations.record(0.5, GET_200, None)
    (merged,) = exporter.with_histograms(sdk_data).resource_metrics
    assert merged.resource is resource
    assert [scope.scope.name for scope in merged.scope_metrics] == [
        "mercato.cache",
        "mercato.http.server",
    ]
    assert [metric.name for metric in merged.scope_metrics[1].metrics] == ["d"]
    (alone,) = exporter.with_histograms(MetricsData([])).resource_metrics
    assert alone.resource is resource
