"""With default settings, telemetry runs the SDK's own parts and never loads the accelerator.

`tests/telemetry/installed_parts.py` installs telemetry as a service does, in a fresh
interpreter (the providers are process-wide), serves one request and reports the types of
what ran.
"""

from __future__ import annotations

from typing import Any

import pytest

from mercato_shared.telemetry.hooks import StockHooks, load_hooks
from tests.telemetry.installed_parts import probe


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return probe(accelerator=False)


def test_the_switch_is_off_by_default() -> None:
    assert type(load_hooks({})) is StockHooks


def test_spans_are_the_sdk_tracers_batched_into_the_stock_otlp_exporter(
    report: dict[str, Any],
) -> None:
    assert report["global_tracer_provider_is_ours"]
    assert report["tracer_is_sdk_tracer"]
    assert report["current_span_is_sdk_span"]  # an `opentelemetry.sdk.trace.Span`
    assert report["current_span"] == "opentelemetry.sdk.trace._Span"
    # The SDK's span hands processors a `ReadableSpan` copy of itself at `end`.
    assert report["finished_spans"] == ["opentelemetry.sdk.trace.ReadableSpan"]
    assert report["span_processor"] == "opentelemetry.sdk.trace.export.BatchSpanProcessor"
    assert report["span_exporter"] == (
        "opentelemetry.exporter.otlp.proto.http.trace_exporter.OTLPSpanExporter"
    )


def test_metrics_and_logs_are_the_sdks_with_the_stock_exporters(report: dict[str, Any]) -> None:
    assert report["durations_instrument_is_sdk_histogram"]
    assert report["durations"] == "mercato_shared.telemetry.hooks.SdkDurationHistogram"
    assert report["metric_exporter"] == (
        "opentelemetry.exporter.otlp.proto.http.metric_exporter.OTLPMetricExporter"
    )
    assert report["log_exporter"] == (
        "opentelemetry.exporter.otlp.proto.http._log_exporter.OTLPLogExporter"
    )


def test_the_accelerator_is_not_imported(report: dict[str, Any]) -> None:
    assert report["accelerator_imported"] is False
