"""Starting spans as the SDK's `Tracer.start_span` does, with `LeanSpan` for the recorded ones.

`LeanTracer` wraps the SDK tracer of a scope and makes the same decisions from the same
parts (its sampler, id generator, resource, span limits, span processors and tracer
configuration), in this order:

* the parent is the span current in the given context; an invalid one means a new trace;
* a new trace under one of the SDK's samplers that decide from the trace id alone
  (`always_on`, `always_off`, `traceidratio` and their `parentbased_` forms, the ones
  `OTEL_TRACES_SAMPLER` names) is decided by comparing its id with the sampler's bound, and
  a dropped one gets its `NonRecordingSpan` at once. Most requests start a trace and, at the
  default 10% sampling, are dropped: counted with callgrind (instructions per cached product
  read, `bench/README.md`), the SDK's path for them was 30,000 of the 88,000 instructions
  that telemetry added to a 1.27 million instruction request;
* every other span asks the sampler (`should_sample`), gets the SDK's flags (sampled, the
  random-trace-id bit) and trace state, and is a `LeanSpan` if it records, handed to the
  processors' `on_start`.

`LeanTracer.of` returns None where only the SDK can start spans: a provider that is not the
SDK's, and processes with the SDK's self-metrics on (`OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED`:
it counts every span it starts). Unit tests compare decisions, ids, flags, trace state and the
exported spans with the SDK's under each sampler.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final, cast

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.sdk.environment_variables import OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED
from opentelemetry.sdk.trace import Span, Tracer, TracerProvider
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Decision,
    ParentBased,
    ParentBasedTraceIdRatio,
    Sampler,
    TraceIdRatioBased,
)
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from opentelemetry.util.types import AttributeValue

from mercato_otel_accelerator.lean_span import LeanSpan
from mercato_shared.telemetry.hooks import SpanStarter

# A new trace is sampled when the low 64 bits of its id are below the bound (the SDK's rule).
_LOW_64_BITS: Final = TraceIdRatioBased.TRACE_ID_LIMIT
_SAMPLE_ALL: Final = TraceIdRatioBased.TRACE_ID_LIMIT + 1
_SAMPLED: Final = TraceFlags.SAMPLED
_RANDOM: Final = TraceFlags.RANDOM_TRACE_ID


def root_bound(sampler: Sampler) -> int | None:
    """The trace-id bound by which `sampler` samples a new trace, if it decides only by it."""
    if type(sampler) in (ParentBased, ParentBasedTraceIdRatio):
        # The root delegate decides a trace without a parent; the SDK keeps it private.
        sampler = cast("ParentBased", sampler)._root
    if sampler is ALWAYS_ON:
        return _SAMPLE_ALL
    if sampler is ALWAYS_OFF:
        return 0
    if type(sampler) is TraceIdRatioBased:
        return sampler.bound
    return None


def _self_metrics_on() -> bool:
    return os.environ.get(OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED, "").strip().lower() == "true"


class LeanTracer:
    """Starts spans for one instrumentation scope (see the module docstring)."""

    __slots__ = ("_bound", "_drop_flags", "_ids", "_random_ids", "sdk")

    def __init__(self, sdk: Tracer) -> None:
        self.sdk = sdk
        bound = root_bound(sdk.sampler)
        # No trace id reaches 2**64 in its low bits: with no bound, every root asks the sampler.
        self._bound = _SAMPLE_ALL if bound is None else bound
        self._ids = sdk.id_generator
        # A property of the generator, read once (the SDK asks it for every new trace).
        self._random_ids = self._ids.is_trace_id_random()
        self._drop_flags = TraceFlags(_RANDOM if self._random_ids else 0)

    @classmethod
    def of(cls, provider: trace.TracerProvider, name: str) -> LeanTracer | None:
        """The lean tracer of scope `name` under `provider`, or None where only the SDK can."""
        if not isinstance(provider, TracerProvider) or _self_metrics_on():
            return None
        sdk = provider.get_tracer(name)
        return cls(sdk) if isinstance(sdk, Tracer) else None

    def start_span(
        self,
        name: str,
        *,
        kind: SpanKind = SpanKind.INTERNAL,
        context: context_api.Context | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> trace.Span:
        sdk = self.sdk
        current = trace.get_current_span(context).get_span_context()
        if not sdk._tracer_config.is_enabled:  # the SDK's tracer configuration (private)
            return NonRecordingSpan(current)
        ids = self._ids
        parent: SpanContext | None
        if current.is_valid:
            parent = current
            trace_id = current.trace_id
            random_id = current.trace_flags.random_trace_id
        else:
            parent = None
            trace_id = ids.generate_trace_id()
            if trace_id & _LOW_64_BITS >= self._bound:
                span_id = ids.generate_span_id()
                return NonRecordingSpan(SpanContext(trace_id, span_id, False, self._drop_flags))
            random_id = self._random_ids
        result = sdk.sampler.should_sample(context, trace_id, name, kind, attributes, ())
        sampled = result.decision is Decision.RECORD_AND_SAMPLE
        flags = TraceFlags((_SAMPLED if sampled else 0) | (_RANDOM if random_id else 0))
        span_context = SpanContext(
            trace_id, ids.generate_span_id(), False, flags, result.trace_state
        )
        if result.decision is Decision.DROP:
            return NonRecordingSpan(span_context)
        span = LeanSpan(
            name,
            span_context,
            parent,
            kind,
            resource=sdk.resource,
            scope=sdk._instrumentation_scope,  # private: what the SDK spans carry
            limits=sdk._span_limits,
            processor=sdk.span_processor,
            attributes=result.attributes,
        )
        # The processors are typed for the SDK's span; `LeanSpan` has its whole API.
        sdk.span_processor.on_start(cast("Span", span), parent_context=context)
        return span


def span_starter(name: str, provider: trace.TracerProvider | None = None) -> SpanStarter:
    """The lean tracer of scope `name` where the SDK's samplers allow it, else the API's tracer."""
    provider = provider or trace.get_tracer_provider()
    lean = LeanTracer.of(provider, name)
    return lean if lean is not None else trace.get_tracer(name, tracer_provider=provider)
