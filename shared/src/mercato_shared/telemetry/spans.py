"""Business attributes on the current span (order id, quote sources, report kind).

    annotate(**{"mercato.order.id": order.id, "mercato.order.lines": len(order.items)})

The attributes land on whatever span is current: the request's SERVER span in a route, the
task's CONSUMER span in a Celery task. Nothing is built for an unsampled span.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import trace

AttributeValue = str | bool | int | float | Sequence[str] | Sequence[int] | Sequence[float]


def annotate(**attributes: AttributeValue | None) -> None:
    """Set attributes on the current span; `None` values are skipped."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes({k: v for k, v in attributes.items() if v is not None})
