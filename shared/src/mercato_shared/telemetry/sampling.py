"""The head-sampling decision for a request that starts a trace, without a span for the dropped.

Most requests start a new trace and, at the default 10% sampling, are dropped. For each of
them the SDK's `Tracer.start_span` still runs its whole path: the parent lookup, the
sampler's `SamplingResult`, the tracer-configuration and self-metrics checks, and only then a
non-recording span. Measured with callgrind (instructions, deterministic) on a cached product
read driven in-process, nothing sampled: that path was 30,000 of the 88,000 instructions
telemetry added to a 1.27 million instruction request; `bench/README.md` has the figures
of this module.

`RootSampling` makes the same decision in a few operations when the provider's sampler is
one of the SDK's samplers that decide a new trace from its trace id alone (`always_on`,
`always_off`, `traceidratio` and their `parentbased_` forms, the ones `OTEL_TRACES_SAMPLER`
names). A dropped trace gets its `NonRecordingSpan` with the flags the SDK would give it;
a sampled one is started by the SDK as before, with the trace id already drawn: the
provider's `HandOffIdGenerator` hands it over, and the SDK's sampler, deciding from the same
id, samples it too. With any other sampler (a custom one, or one that keeps attributes or
trace state) `RootSampling.of` returns None and every span goes through the SDK.

A unit test checks the decision and the flags against the SDK's own for each sampler.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final, cast

from opentelemetry import trace
from opentelemetry.sdk.environment_variables import OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    ParentBasedTraceIdRatio,
    Sampler,
    TraceIdRatioBased,
)
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from opentelemetry.util.types import AttributeValue

# A new trace is sampled when the low 64 bits of its id are below the bound (the SDK's rule).
_LOW_64_BITS: Final = TraceIdRatioBased.TRACE_ID_LIMIT
_SAMPLE_ALL: Final = TraceIdRatioBased.TRACE_ID_LIMIT + 1

_handed_off: ContextVar[int | None] = ContextVar("mercato_trace_id_handed_off", default=None)


class HandOffIdGenerator(RandomIdGenerator):
    """The SDK's random ids, except the trace id `RootSampling` drew for a sampled request."""

    def generate_trace_id(self) -> int:
        trace_id = _handed_off.get()
        return super().generate_trace_id() if trace_id is None else trace_id


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


@dataclass(frozen=True, slots=True)
class RootSampling:
    """Starts the span of a request that has no parent (see the module docstring)."""

    ids: HandOffIdGenerator
    bound: int
    dropped_flags: TraceFlags

    @classmethod
    def of(cls, provider: trace.TracerProvider) -> RootSampling | None:
        """The fast decision for `provider`, or None where only the SDK can decide."""
        if not isinstance(provider, TracerProvider):
            return None
        ids = provider.id_generator
        bound = root_bound(provider.sampler)
        # The SDK's self-metrics count every started span, dropped ones too.
        self_metrics = os.environ.get(OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED, "")
        if self_metrics.strip().lower() == "true":
            return None
        if not isinstance(ids, HandOffIdGenerator) or bound is None:
            return None
        random_ids = ids.is_trace_id_random()
        flags = TraceFlags(TraceFlags.RANDOM_TRACE_ID if random_ids else TraceFlags.DEFAULT)
        return cls(ids, bound, flags)

    def start_span(
        self,
        tracer: trace.Tracer,
        name: str,
        kind: SpanKind,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> trace.Span:
        """A span without a parent: non-recording if the trace is dropped, else the SDK's."""
        trace_id = self.ids.generate_trace_id()
        if trace_id & _LOW_64_BITS >= self.bound:
            span_id = self.ids.generate_span_id()
            return NonRecordingSpan(SpanContext(trace_id, span_id, False, self.dropped_flags))
        token = _handed_off.set(trace_id)
        try:
            return tracer.start_span(name, kind=kind, attributes=attributes)
        finally:
            _handed_off.reset(token)
