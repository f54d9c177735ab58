"""`LeanTracer` decides and starts spans as the SDK's own tracer does (no network)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import context, trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    DEFAULT_OFF,
    DEFAULT_ON,
    Decision,
    ParentBased,
    ParentBasedTraceIdRatio,
    Sampler,
    StaticSampler,
    TraceIdRatioBased,
)
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags, TraceState

from mercato_otel_accelerator.lean_span import LeanSpan
from mercato_otel_accelerator.lean_tracer import LeanTracer, root_bound, span_starter

SAMPLERS: dict[str, Sampler] = {
    "always_on": ALWAYS_ON,
    "always_off": ALWAYS_OFF,
    "traceidratio 0.1": TraceIdRatioBased(0.1),
    "traceidratio 0.5": TraceIdRatioBased(0.5),
    "parentbased_always_on": DEFAULT_ON,
    "parentbased_always_off": DEFAULT_OFF,
    "parentbased_traceidratio 0.1": ParentBased(TraceIdRatioBased(0.1)),
    "parentbased_traceidratio 0.25 (SDK class)": ParentBasedTraceIdRatio(0.25),
}


class Custom(StaticSampler):
    """A sampler the root fast path does not know: every span asks it."""


class TracingState(StaticSampler):
    """A custom sampler that records only and adds an attribute and trace state."""

    def should_sample(self, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        result = super().should_sample(*args, **kwargs)  # type: ignore[arg-type]
        state = TraceState([("mercato", "1")])
        return type(result)(Decision.RECORD_ONLY, {"sampler": "custom"}, state)


class ScriptedIds(RandomIdGenerator):
    """Trace and span ids from a list, so that two tracers see the same ones."""

    def __init__(self, ids: list[int]) -> None:
        self._trace_ids: Iterator[int] = iter(ids)
        self._span_ids: Iterator[int] = iter(n % (1 << 64) or 1 for n in ids * 4)

    def generate_trace_id(self) -> int:
        return next(self._trace_ids)

    def generate_span_id(self) -> int:
        return next(self._span_ids)


def trace_ids(count: int) -> list[int]:
    # Spread over the whole 128-bit space, low bits included (they decide the ratio).
    return [(n * 0x9E3779B97F4A7C15F39CC0605CEDC835) % (1 << 128) or 1 for n in range(1, count)]


def provider(
    sampler: Sampler, ids: RandomIdGenerator
) -> tuple[TracerProvider, InMemorySpanExporter]:
    exported = InMemorySpanExporter()
    tracer_provider = TracerProvider(sampler=sampler, id_generator=ids)
    tracer_provider.add_span_processor(SimpleSpanProcessor(exported))
    return tracer_provider, exported


def lean_tracer(tracer_provider: TracerProvider) -> LeanTracer:
    lean = LeanTracer.of(tracer_provider, "t")
    assert lean is not None
    return lean


def assert_same_start(lean: trace.Span, stock: trace.Span) -> None:
    ours, theirs = lean.get_span_context(), stock.get_span_context()
    assert (ours.trace_id, ours.span_id) == (theirs.trace_id, theirs.span_id)
    assert ours.trace_flags == theirs.trace_flags
    assert ours.trace_state == theirs.trace_state
    assert ours.is_remote is theirs.is_remote is False
    assert lean.is_recording() is stock.is_recording()
    assert isinstance(lean, LeanSpan) is stock.is_recording()


def exported_fields(spans: tuple[ReadableSpan, ...]) -> list[tuple[object, ...]]:
    return [
        (s.name, s.context, s.parent, s.kind, dict(s.attributes or {}), s.status.status_code)
        for s in spans
    ]


PARENTS = {
    "remote sampled": SpanContext(7 << 70 | 5, 11, True, TraceFlags(TraceFlags.SAMPLED)),
    "remote not sampled": SpanContext(9 << 70 | 3, 13, True, TraceFlags(0)),
    "local sampled, trace state": SpanContext(
        3 << 90 | 1, 17, False, TraceFlags(3), TraceState([("k", "v")])
    ),
    "local not sampled": SpanContext(5 << 80 | 1, 19, False, TraceFlags(2)),
    "invalid": trace.INVALID_SPAN_CONTEXT,
}
SAMPLERS_WITH_CUSTOM = {
    **SAMPLERS,
    "custom": Custom(Decision.RECORD_AND_SAMPLE),
    "custom record-only": TracingState(Decision.DROP),
}


@pytest.mark.parametrize("name", SAMPLERS_WITH_CUSTOM)
def test_a_new_trace_starts_as_the_sdk_starts_it(name: str) -> None:
    ids = trace_ids(400)
    ours, ours_exported = provider(SAMPLERS_WITH_CUSTOM[name], ScriptedIds(ids))
    sdk, sdk_exported = provider(SAMPLERS_WITH_CUSTOM[name], ScriptedIds(ids))
    lean = lean_tracer(ours)
    for _ in ids:
        mine = lean.start_span("GET", kind=SpanKind.SERVER, attributes={"a": 1})
        stock = sdk.get_tracer("t").start_span("GET", kind=SpanKind.SERVER, attributes={"a": 1})
        assert_same_start(mine, stock)
        mine.end()
        stock.end()
    assert exported_fields(ours_exported.get_finished_spans()) == exported_fields(
        sdk_exported.get_finished_spans()
    )


@pytest.mark.parametrize("parent", PARENTS)
@pytest.mark.parametrize("name", SAMPLERS_WITH_CUSTOM)
def test_a_child_starts_as_the_sdk_starts_it(name: str, parent: str) -> None:
    ids = trace_ids(50)
    ours, ours_exported = provider(SAMPLERS_WITH_CUSTOM[name], ScriptedIds(ids))
    sdk, sdk_exported = provider(SAMPLERS_WITH_CUSTOM[name], ScriptedIds(ids))
    parent_context = trace.set_span_in_context(NonRecordingSpan(PARENTS[parent]))
    lean = lean_tracer(ours)
    for _ in range(20):
        mine = lean.start_span("GET", kind=SpanKind.CLIENT, context=parent_context)
        stock = sdk.get_tracer("t").start_span("GET", kind=SpanKind.CLIENT, context=parent_context)
        assert_same_start(mine, stock)
        mine.end()
        stock.end()
    assert exported_fields(ours_exported.get_finished_spans()) == exported_fields(
        sdk_exported.get_finished_spans()
    )


def test_the_current_span_is_the_parent_when_no_context_is_given() -> None:
    ours, exported = provider(ALWAYS_ON, RandomIdGenerator())
    lean = lean_tracer(ours)
    server = lean.start_span("GET /x", kind=SpanKind.SERVER)
    token = context.attach(trace.set_span_in_context(server))
    try:
        lean.start_span("GET", kind=SpanKind.CLIENT).end()
    finally:
        context.detach(token)
    server.end()
    client, root = exported.get_finished_spans()
    assert client.parent == root.context
    assert client.context.trace_id == root.context.trace_id
    assert root.parent is None


def test_a_ratio_samples_about_its_share() -> None:
    ours, exported = provider(ParentBased(TraceIdRatioBased(0.1)), RandomIdGenerator())
    lean = lean_tracer(ours)
    for _ in range(5_000):
        lean.start_span("GET", kind=SpanKind.SERVER).end()
    # 500 expected; the binomial standard deviation is about 21.
    assert 400 < len(exported.get_finished_spans()) < 600


def test_only_the_built_in_samplers_have_a_root_bound() -> None:
    assert root_bound(ALWAYS_OFF) == 0
    assert root_bound(ParentBased(TraceIdRatioBased(0.5))) == TraceIdRatioBased(0.5).bound
    assert root_bound(Custom(Decision.RECORD_AND_SAMPLE)) is None
    assert root_bound(ParentBased(Custom(Decision.RECORD_AND_SAMPLE))) is None


def test_providers_other_than_the_sdks_get_the_api_tracer() -> None:
    assert LeanTracer.of(trace.NoOpTracerProvider(), "t") is None
    assert not isinstance(span_starter("t", trace.NoOpTracerProvider()), LeanTracer)
    assert isinstance(span_starter("t", TracerProvider()), LeanTracer)


def test_the_sdks_self_metrics_keep_the_sdk_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED", "true")
    assert LeanTracer.of(TracerProvider(), "t") is None
