"""Business attributes on the current span, and the span of a periodic job's run.

    annotate(**{"mercato.order.id": order.id, "mercato.order.lines": len(order.items)})

The attributes land on whatever span is current: the request's SERVER span in a route, the
task's CONSUMER span in a Celery task. Nothing is built for an unsampled span.

    with periodic_span("idempotency-cleanup"):
        await claims.cleanup()

makes one run of a job that a process runs in the background (no request around it) one
trace: the span `periodic <job>` (attribute `mercato.job`) is the root and the parent of the
run's SQL, Redis and HTTP spans, and an exception leaving it is recorded on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager

from opentelemetry import trace
from opentelemetry.trace import Span, Tracer

AttributeValue = str | bool | int | float | Sequence[str] | Sequence[int] | Sequence[float]


def annotate(**attributes: AttributeValue | None) -> None:
    """Set attributes on the current span; `None` values are skipped."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes({k: v for k, v in attributes.items() if v is not None})


def periodic_span(job: str, tracer: Tracer | None = None) -> AbstractContextManager[Span]:
    """The span of one run of `job` (from `tracer`, by default the global provider's)."""
    tracer = tracer or trace.get_tracer("mercato.periodic")
    return tracer.start_as_current_span(f"periodic {job}", attributes={"mercato.job": job})
