"""`RootSampling` decides a new trace as the SDK's own sampler does (no network)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
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
from opentelemetry.trace import SpanKind

from mercato_shared.telemetry import sampling
from mercato_shared.telemetry.sampling import HandOffIdGenerator, RootSampling, root_bound

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


class ScriptedIds(HandOffIdGenerator):
    """Trace ids from a list (unless one is handed off), so two tracers see the same ones."""

    def __init__(self, trace_ids: list[int]) -> None:
        self._next: Iterator[int] = iter(trace_ids)

    def generate_trace_id(self) -> int:
        handed_off = sampling._handed_off.get()
        return next(self._next) if handed_off is None else handed_off


def trace_ids(count: int) -> list[int]:
    # Spread over the whole 128-bit space, low bits included (they decide the ratio).
    return [(n * 0x9E3779B97F4A7C15F39CC0605CEDC835) % (1 << 128) or 1 for n in range(1, count)]


def provider(
    sampler: Sampler, ids: HandOffIdGenerator
) -> tuple[TracerProvider, InMemorySpanExporter]:
    exported = InMemorySpanExporter()
    tracer_provider = TracerProvider(sampler=sampler, id_generator=ids)
    tracer_provider.add_span_processor(SimpleSpanProcessor(exported))
    return tracer_provider, exported


@pytest.mark.parametrize("name", SAMPLERS)
def test_same_decision_flags_and_trace_id_as_the_sdk(name: str) -> None:
    ids = trace_ids(400)
    ours, ours_exported = provider(SAMPLERS[name], ScriptedIds(ids))
    sdk, sdk_exported = provider(SAMPLERS[name], ScriptedIds(ids))
    roots = RootSampling.of(ours)
    assert roots is not None
    for _ in ids:
        lean = roots.start_span(ours.get_tracer("t"), "GET", SpanKind.SERVER)
        stock = sdk.get_tracer("t").start_span("GET", kind=SpanKind.SERVER)
        lean_context, stock_context = lean.get_span_context(), stock.get_span_context()
        assert lean_context.trace_id == stock_context.trace_id
        assert lean_context.trace_flags == stock_context.trace_flags
        assert lean_context.trace_state == stock_context.trace_state
        assert lean_context.is_remote is stock_context.is_remote is False
        assert lean.is_recording() is stock.is_recording()
        lean.end()
        stock.end()
    assert len(ours_exported.get_finished_spans()) == len(sdk_exported.get_finished_spans())
    assert [s.context.trace_id for s in ours_exported.get_finished_spans()] == [
        s.context.trace_id for s in sdk_exported.get_finished_spans()
    ]


def test_a_ratio_samples_about_its_share() -> None:
    ours, exported = provider(ParentBased(TraceIdRatioBased(0.1)), HandOffIdGenerator())
    roots = RootSampling.of(ours)
    assert roots is not None
    for _ in range(5_000):
        roots.start_span(ours.get_tracer("t"), "GET", SpanKind.SERVER).end()
    # 500 expected; the binomial standard deviation is about 21.
    assert 400 < len(exported.get_finished_spans()) < 600


def test_a_sampled_span_is_the_sdks_with_its_attributes() -> None:
    ours, exported = provider(ALWAYS_ON, HandOffIdGenerator())
    roots = RootSampling.of(ours)
    assert roots is not None
    roots.start_span(ours.get_tracer("t"), "GET", SpanKind.SERVER, attributes={"a": 1}).end()
    (span,) = exported.get_finished_spans()
    assert span.kind is SpanKind.SERVER
    assert span.parent is None
    assert dict(span.attributes or {}) == {"a": 1}


class Custom(StaticSampler):
    """Any sampler the fast path does not know."""


@pytest.mark.parametrize(
    "sampler",
    [Custom(Decision.RECORD_AND_SAMPLE), ParentBased(Custom(Decision.RECORD_AND_SAMPLE))],
)
def test_unknown_samplers_are_left_to_the_sdk(sampler: Sampler) -> None:
    assert root_bound(sampler) is None
    assert RootSampling.of(provider(sampler, HandOffIdGenerator())[0]) is None


def test_needs_the_hand_off_id_generator_and_an_sdk_provider() -> None:
    assert RootSampling.of(TracerProvider(sampler=ALWAYS_ON)) is None
    assert RootSampling.of(trace.NoOpTracerProvider()) is None


def test_the_sdks_self_metrics_keep_the_sdk_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED", "true")
    assert RootSampling.of(provider(ALWAYS_ON, HandOffIdGenerator())[0]) is None
