"""A recording span for the hot paths we instrument: the SDK's semantics, less of its cost.

The SDK's span (`opentelemetry.sdk.trace._Span`) guards each change with a lock, keeps its
attributes in a `BoundedAttributes` (its own lock, a cleaning pass per value), its events and
links in `BoundedList`s, and at `end` copies itself into a new `ReadableSpan` for the
processors. The encoder then reads every field through a property that copies again
(`MappingProxyType`, `tuple(events)`). Counted with callgrind on a product read traced at
100% (server span and Redis span), replacing them with this span halved what tracing added
(+657,000 -> about +330,000 instructions a request; `bench/README.md` has the figures).

`LeanSpan` is both the span the code writes to and the `ReadableSpan` the processors get:

* attributes are a plain dict; a `str`, `bool`, `int` or `float` value is stored as it is
  (a string cut to the span limit), anything else is cleaned by the SDK's own function, and
  the count limit drops the oldest attribute first, as `BoundedAttributes` does;
* events and links obey the same limits and keep the SDK's `Event` and `Link` types;
* status follows the SDK's rules (OK is final, UNSET is ignored), changes after `end` are
  ignored with the SDK's warning, and `end` hands the span itself to the span processors
  (`_on_ending`, then `on_end`, as the SDK's span does);
* no lock: a span belongs to the task that made it (a request, a Redis command), as every
  span of this code base does. Share one across threads and use the SDK's;
* processors and exporters get the span itself, and its `attributes`, `events` and `links`
  are its own containers, not read-only copies: they read them and must not change them.
  The deprecated `instrumentation_info` is None (the scope is set).

Spans are started by `lean_tracer.LeanTracer`, which makes the SDK's sampling decision; a
unit test compares what both make, field by field and as encoded OTLP.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable, Mapping, Sequence
from time import time_ns
from types import TracebackType
from typing import Final, TypeVar, cast

from opentelemetry import trace
from opentelemetry.attributes import (
    BoundedAttributes,
    _clean_attribute_value,
    _is_non_custom_str,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanLimits, SpanProcessor
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.semconv.attributes.exception_attributes import (
    EXCEPTION_ESCAPED,
    EXCEPTION_MESSAGE,
    EXCEPTION_STACKTRACE,
    EXCEPTION_TYPE,
)
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.util import types

logger = logging.getLogger(__name__)

_UNSET: Final = Status(StatusCode.UNSET)
_SCALARS: Final = frozenset({bool, int, float})


T = TypeVar("T")


def _append_bounded(items: list[T], limit: int | None, item: T) -> int:
    """Append as the SDK's `BoundedList` does (the oldest goes when full); how many dropped."""
    if limit is None or len(items) < limit:
        items.append(item)
        return 0
    if limit > 0:
        del items[0]
        items.append(item)
    return 1


def _frozen(
    limit: int | None, attributes: types.Attributes, limits: SpanLimits
) -> BoundedAttributes:
    """An event's or link's attributes, cleaned and bounded as the SDK's span makes them."""
    return BoundedAttributes(
        limit, attributes, immutable=True, max_value_len=limits.max_attribute_length
    )


class LeanSpan(trace.Span, ReadableSpan):
    """A recording span and its own `ReadableSpan` (see the module docstring)."""

    def __init__(
        self,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        *,
        resource: Resource,
        scope: InstrumentationScope,
        limits: SpanLimits,
        processor: SpanProcessor,
        attributes: types.Attributes = None,
    ) -> None:
        self._name = name
        self._context = context
        self._parent = parent
        self._kind = kind
        self._resource = resource
        self._instrumentation_scope = scope
        self._instrumentation_info = None
        self._limits = limits
        self._processor = processor
        self._attributes: dict[str, types.AnyValue] = {}
        self._dropped_attributes = 0
        self._events: list[Event] = []
        self._dropped_events = 0
        self._links: list[Link] = []
        self._dropped_links = 0
        self._status = _UNSET
        self._end_time: int | None = None
        if attributes:
            self.set_attributes(attributes)
        self._start_time: int | None = time_ns()

    # ReadableSpan: the fields as they are, without the SDK's defensive copies.

    @property
    def attributes(self) -> types.Attributes:
        return self._attributes

    @property
    def events(self) -> Sequence[Event]:
        return self._events

    @property
    def links(self) -> Sequence[Link]:
        return self._links

    @property
    def dropped_attributes(self) -> int:
        return self._dropped_attributes

    @property
    def dropped_events(self) -> int:
        return self._dropped_events

    @property
    def dropped_links(self) -> int:
        return self._dropped_links

    # trace.Span

    def get_span_context(self) -> SpanContext:
        return cast("SpanContext", self._context)

    def is_recording(self) -> bool:
        return self._end_time is None

    def _ended(self, operation: str) -> bool:
        if self._end_time is None:
            return False
        logger.warning("Tried calling %s on an ended span.", operation)
        return True

    def set_attribute(self, key: str, value: types.AnyValue) -> None:
        if not self._ended("set_attribute"):
            self._put(key, value)

    def set_attributes(self, attributes: Mapping[str, types.AnyValue]) -> None:
        if self._ended("set_attributes"):
            return
        # Typed as strings, but callers pass what they have: as the SDK cleans a mapping, a
        # printable key that is not a string becomes one and any other is dropped.
        items: Iterable[tuple[object, types.AnyValue]] = attributes.items()
        for key, value in items:
            if isinstance(key, str):
                self._put(key, value)
            else:
                self._put(str(key) if key and _is_non_custom_str(key) else "", value)

    def _put(self, key: str, value: types.AnyValue) -> None:
        limit = self._limits.max_span_attributes
        if limit == 0 or not key or not isinstance(key, str):
            if limit != 0:
                logger.warning("invalid attribute key `%s`, dropped.", key)
            self._dropped_attributes += 1
            return
        if type(value) is str:
            length = self._limits.max_span_attribute_length
            if length is not None and len(value) > length:
                value = value[:length]
        elif type(value) not in _SCALARS:
            value = _clean_attribute_value(value, self._limits.max_span_attribute_length)
        attributes = self._attributes
        if key in attributes:
            del attributes[key]
        elif limit is not None and len(attributes) >= limit:
            # As BoundedAttributes: the oldest attribute makes room for the new one.
            logger.warning("Span attributes are full, the oldest one is dropped.")
            del attributes[next(iter(attributes))]
            self._dropped_attributes += 1
        attributes[key] = value

    def add_event(
        self, name: str, attributes: types.Attributes = None, timestamp: int | None = None
    ) -> None:
        if self._ended("add_event"):
            return
        limits = self._limits
        event = Event(name, _frozen(limits.max_event_attributes, attributes, limits), timestamp)
        self._dropped_events += _append_bounded(self._events, limits.max_events, event)

    def add_link(self, context: SpanContext, attributes: types.Attributes = None) -> None:
        # What the SDK's `_is_valid_link` leaves out, before it looks at whether the span ended.
        if not (context and (context.is_valid or attributes or context.trace_state)):
            return
        if self._ended("add_link"):
            return
        limits = self._limits
        link = Link(context, _frozen(limits.max_link_attributes, attributes, limits))
        self._dropped_links += _append_bounded(self._links, limits.max_links, link)

    def update_name(self, name: str) -> None:
        if not self._ended("update_name"):
            self._name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        if self._ended("set_status") or self._status.status_code is StatusCode.OK:
            return
        if isinstance(status, Status):
            if status.status_code is StatusCode.UNSET:
                return
            if description is not None:
                logger.warning(
                    "Description %s ignored. Use either `Status` or `(StatusCode, Description)`",
                    description,
                )
            self._status = status
        elif isinstance(status, StatusCode) and status is not StatusCode.UNSET:
            self._status = Status(status, description)

    def record_exception(
        self,
        exception: BaseException,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        """The SDK's `exception` event: type, message, stack trace, escaped."""
        module = type(exception).__module__
        qualname = type(exception).__qualname__
        event: dict[str, types.AnyValue] = {
            EXCEPTION_TYPE: f"{module}.{qualname}" if module and module != "builtins" else qualname,
            EXCEPTION_MESSAGE: str(exception),
            EXCEPTION_STACKTRACE: "".join(traceback.format_exception(exception)),
            EXCEPTION_ESCAPED: str(escaped),
        }
        if attributes:
            event.update(attributes)
        self.add_event("exception", event, timestamp)

    def end(self, end_time: int | None = None) -> None:
        if self._ended("end"):
            return
        self._end_time = end_time if end_time is not None else time_ns()
        # The processors are typed for the SDK's span; `LeanSpan` has its whole API.
        self._processor._on_ending(cast("Span", self))  # private; the SDK span calls it too
        self._processor.on_end(self)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        """As the SDK's span: an escaping exception is recorded and sets status ERROR."""
        if exc_val is not None and self.is_recording():
            self.record_exception(exc_val, escaped=True)
            self.set_status(Status(StatusCode.ERROR, f"{type(exc_val).__name__}: {exc_val}"))
        super().__exit__(exc_type, exc_val, exc_tb)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(name="{self._name}", context={self._context})'
