"""With `MERCATO_OTEL_ACCELERATOR=true`, a process installs the accelerator's parts.

The same probe as shared's default-path test (`tests/telemetry/installed_parts.py`:
telemetry installed as a service does, one request, the types of what ran), with the switch
on, in a fresh interpreter.
"""

from __future__ import annotations

from tests.telemetry.installed_parts import probe


def test_a_process_with_the_switch_on_runs_the_accelerator() -> None:
    report = probe(accelerator=True)
    assert report["accelerator_imported"] is True
    assert report["tracer"] == "mercato_otel_accelerator.lean_tracer.LeanTracer"
    assert report["current_span"] == "mercato_otel_accelerator.lean_span.LeanSpan"
    assert report["finished_spans"] == ["mercato_otel_accelerator.lean_span.LeanSpan"]
    assert report["span_processor"] == "opentelemetry.sdk.trace.export.BatchSpanProcessor"
    assert report["span_exporter"] == "mercato_otel_accelerator.exporter.LeanOTLPSpanExporter"
    assert report["metric_exporter"] == (
        "mercato_otel_accelerator.histogram.HistogramMetricExporter"
    )
    assert report["durations"] == "mercato_otel_accelerator.histogram.DurationHistogram"
