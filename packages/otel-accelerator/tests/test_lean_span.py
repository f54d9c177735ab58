"""`LeanSpan` records what the SDK's span records, read and encoded the same (no network)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from mercato_otel_accelerator.lean_span import LeanSpan
from mercato_otel_accelerator.lean_tracer import LeanTracer
from mercato_otel_accelerator.otlp_spans import encode_spans


class SameIds(RandomIdGenerator):
    def __init__(self) -> None:
        self._next = 0

    def generate_trace_id(self) -> int:
        self._next += 1
        return self._next << 64 | self._next

    def generate_span_id(self) -> int:
        self._next += 1
        return self._next


class Opaque:
    def __str__(self) -> str:
        return "opaque"


Script = Callable[[trace.Span], None]

LINKED = SpanContext(0xABC, 0xDEF, True, TraceFlags(1))


def every_type(span: trace.Span) -> None:
    values = {"s": "text", "b": True, "i": 7, "f": 0.5, "l": ["a", "b"], "t": (1, 2)}
    span.set_attributes({**values, "o": Opaque()})  # type: ignore[dict-item]


def one_at_a_time(span: trace.Span) -> None:
    span.set_attribute("a", 1)
    span.set_attribute("b", 2)
    span.set_attribute("a", 3)


def over_the_count_limit(span: trace.Span) -> None:
    span.set_attributes({f"k{n}": n for n in range(9)})


def over_the_length_limit(span: trace.Span) -> None:
    span.set_attributes({"s": "x" * 40, "l": ["y" * 40]})


def invalid_keys(span: trace.Span) -> None:
    span.set_attributes({"": 1, "ok": 2})


def keys_that_are_not_strings(span: trace.Span) -> None:
    span.set_attributes({2: "two", "b": 2, Opaque(): 3})  # type: ignore[dict-item]
    span.set_attribute(3, "dropped")  # type: ignore[arg-type]


def status_that_is_not_a_status(span: trace.Span) -> None:
    span.set_status(2)  # type: ignore[arg-type]
    span.set_status("ERROR")  # type: ignore[arg-type]


def links_that_are_not_links(span: trace.Span) -> None:
    span.add_link(None)  # type: ignore[arg-type]
    span.add_link(trace.INVALID_SPAN_CONTEXT, {"kept": "attributes make it valid"})


def events(span: trace.Span) -> None:
    for n in range(6):
        span.add_event(f"e{n}", {"n": n, "text": "z" * 40, "more": 1})


def an_exception(span: trace.Span) -> None:
    span.record_exception(ValueError("bad"), {"extra": 1})


def links(span: trace.Span) -> None:
    for n in range(4):
        span.add_link(LINKED, {"why": "retry", "n": n})
    span.add_link(trace.INVALID_SPAN_CONTEXT)


def renamed_with_error(span: trace.Span) -> None:
    span.update_name("GET /items/{id}")
    span.set_status(Status(StatusCode.ERROR, "boom"))


def ok_is_final(span: trace.Span) -> None:
    span.set_status(StatusCode.OK)
    span.set_status(StatusCode.ERROR, "later")


def unset_is_ignored(span: trace.Span) -> None:
    span.set_status(StatusCode.ERROR, "first")
    span.set_status(Status(StatusCode.UNSET))


SCRIPTS: dict[str, Script] = {
    script.__name__: script
    for script in (
        every_type,
        one_at_a_time,
        over_the_count_limit,
        over_the_length_limit,
        invalid_keys,
        keys_that_are_not_strings,
        status_that_is_not_a_status,
        links_that_are_not_links,
        events,
        an_exception,
        links,
        renamed_with_error,
        ok_is_final,
        unset_is_ignored,
    )
}
LIMITS = SpanLimits(
    max_span_attributes=4,
    max_span_attribute_length=16,
    max_events=3,
    max_event_attributes=2,
    max_links=3,
    max_attribute_length=16,
)


def exporting_provider(limits: SpanLimits) -> tuple[TracerProvider, InMemorySpanExporter]:
    exported = InMemorySpanExporter()
    tracer_provider = TracerProvider(id_generator=SameIds(), span_limits=limits)
    tracer_provider.add_span_processor(SimpleSpanProcessor(exported))
    return tracer_provider, exported


def fields(span: ReadableSpan) -> tuple[object, ...]:
    return (
        span.name,
        span.context,
        span.parent,
        span.kind,
        dict(span.attributes or {}),
        span.dropped_attributes,
        [(e.name, dict(e.attributes or {}), e.dropped_attributes) for e in span.events],
        span.dropped_events,
        [(link.context, dict(link.attributes or {})) for link in span.links],
        span.dropped_links,
        (span.status.status_code, span.status.description),
        span.resource,
        span.instrumentation_scope,
    )


@pytest.mark.parametrize("limits", [LIMITS, SpanLimits()], ids=["small limits", "default limits"])
@pytest.mark.parametrize("name", SCRIPTS)
def test_records_and_encodes_as_the_sdks_span(name: str, limits: SpanLimits) -> None:
    ours, ours_exported = exporting_provider(limits)
    sdk, sdk_exported = exporting_provider(limits)
    lean = LeanTracer.of(ours, "t")
    assert lean is not None
    mine = lean.start_span("GET", kind=SpanKind.SERVER, attributes={"start": "yes"})
    stock = sdk.get_tracer("t").start_span("GET", kind=SpanKind.SERVER, attributes={"start": "yes"})
    assert isinstance(mine, LeanSpan)
    for span in (mine, stock):
        SCRIPTS[name](span)
        span.end(end_time=2_000)
    (exported_mine,) = ours_exported.get_finished_spans()
    (exported_stock,) = sdk_exported.get_finished_spans()
    assert exported_mine is mine
    # Event and span times are the clock's; give both the same to compare the rest.
    for finished in (exported_mine, exported_stock):
        finished._start_time = 1_000
        for event in finished.events:
            event._timestamp = 1_500
    mine_fields, stock_fields = fields(exported_mine), fields(exported_stock)
    if name == "an_exception":
        # The stack traces name the line that made each span's event (if the limit kept it).
        mine_trace = mine_fields[6][0][1].pop("exception.stacktrace", None)  # type: ignore[index]
        stock_trace = stock_fields[6][0][1].pop("exception.stacktrace", None)  # type: ignore[index]
        assert (mine_trace is None) is (stock_trace is None)
        assert mine_fields == stock_fields
        return
    assert mine_fields == stock_fields
    assert encode_spans([exported_mine]) == encode_spans([exported_stock])


def test_changes_after_end_are_ignored() -> None:
    ours, exported = exporting_provider(SpanLimits())
    lean = LeanTracer.of(ours, "t")
    assert lean is not None
    span = lean.start_span("GET", kind=SpanKind.SERVER)
    span.end()
    span.set_attribute("late", 1)
    span.update_name("late")
    span.set_status(StatusCode.ERROR)
    span.add_event("late")
    span.end()
    (finished,) = exported.get_finished_spans()
    assert finished.name == "GET"
    assert dict(finished.attributes or {}) == {}
    assert finished.status.status_code is StatusCode.UNSET
    assert not finished.events
    assert not span.is_recording()


def test_an_exception_escaping_the_with_block_is_recorded() -> None:
    ours, exported = exporting_provider(SpanLimits())
    lean = LeanTracer.of(ours, "t")
    assert lean is not None
    with pytest.raises(KeyError), lean.start_span("work", kind=SpanKind.INTERNAL):
        raise KeyError("k")
    (finished,) = exported.get_finished_spans()
    assert finished.status.status_code is StatusCode.ERROR
    assert finished.status.description == "KeyError: 'k'"
    (event,) = finished.events
    assert event.name == "exception"
    assert dict(event.attributes or {})["exception.escaped"] == "True"
