"""The span of a periodic job's run: a root span named for the job, the parent of its work."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from mercato_shared.telemetry import periodic_span


def test_a_run_is_a_root_span_that_parents_its_calls_and_records_a_failure() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")

    with periodic_span("idempotency-cleanup", tracer), tracer.start_as_current_span("DELETE"):
        pass
    with pytest.raises(RuntimeError), periodic_span("idempotency-cleanup", tracer):
        raise RuntimeError("database unavailable")
    provider.shutdown()

    call, run, failed = exporter.get_finished_spans()
    assert run.name == "periodic idempotency-cleanup"
    assert run.attributes == {"mercato.job": "idempotency-cleanup"}
    assert run.parent is None
    assert call.parent is not None
    assert call.parent.span_id == run.context.span_id
    assert failed.parent is None
    assert failed.status.status_code is StatusCode.ERROR
    assert [event.name for event in failed.events] == ["exception"]
