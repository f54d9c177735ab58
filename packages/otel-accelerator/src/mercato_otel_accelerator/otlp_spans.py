"""Finished SDK spans to an OTLP `ExportTraceServiceRequest`, written as protobuf bytes directly.

Why not the exporter's own encoder (`opentelemetry-exporter-otlp-proto-common`): it builds a
protobuf message object per span, attribute and value, and groups the spans of a batch by
hashing their `Resource`, which serialises the resource's attributes to JSON once per span.
A profile of a catalog product read at 100% sampling put most of the export thread's CPU in
that encoder; the figures, before and after, are in `bench/README.md`.

The output is the OTLP trace protocol (`opentelemetry/proto/trace/v1/trace.proto`): a unit
test parses it with the official `opentelemetry-proto` messages and checks it equals what the
stock encoder produces for the same spans. Only the encoding is ours; batching, the HTTP
transport, retries and every `OTEL_EXPORTER_OTLP_*` setting stay the SDK's
(`mercato_otel_accelerator.exporter`).
"""

from __future__ import annotations

import functools
import logging
import struct
from collections.abc import Mapping, Sequence
from typing import Final

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.trace.span import DEFAULT_TRACE_STATE

logger = logging.getLogger(__name__)

# Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. A tag is (field << 3) | type.
_VARINT_BYTES: Final = tuple(bytes((value,)) for value in range(128))

# ExportTraceServiceRequest / ResourceSpans / ScopeSpans
_REQUEST_RESOURCE_SPANS: Final = b"\x0a"  # 1, bytes
_RESOURCE_SPANS_RESOURCE: Final = b"\x0a"  # 1
_RESOURCE_SPANS_SCOPE_SPANS: Final = b"\x12"  # 2
_RESOURCE_SPANS_SCHEMA_URL: Final = b"\x1a"  # 3
_SCOPE_SPANS_SCOPE: Final = b"\x0a"  # 1
_SCOPE_SPANS_SPANS: Final = b"\x12"  # 2
_SCOPE_SPANS_SCHEMA_URL: Final = b"\x1a"  # 3
# Resource / InstrumentationScope
_RESOURCE_ATTRIBUTES: Final = b"\x0a"  # 1
_SCOPE_NAME: Final = b"\x0a"  # 1
_SCOPE_VERSION: Final = b"\x12"  # 2
_SCOPE_ATTRIBUTES: Final = b"\x1a"  # 3
# Span
_SPAN_TRACE_ID: Final = b"\x0a"  # 1, bytes
_SPAN_SPAN_ID: Final = b"\x12"  # 2, bytes
_SPAN_TRACE_STATE: Final = b"\x1a"  # 3, string
_SPAN_PARENT_SPAN_ID: Final = b"\x22"  # 4, bytes
_SPAN_NAME: Final = b"\x2a"  # 5, string
_SPAN_KIND: Final = b"\x30"  # 6, enum
_SPAN_START: Final = b"\x39"  # 7, fixed64
_SPAN_END: Final = b"\x41"  # 8, fixed64
_SPAN_ATTRIBUTES: Final = b"\x4a"  # 9, KeyValue
_SPAN_DROPPED_ATTRIBUTES: Final = b"\x50"  # 10, uint32
_SPAN_EVENTS: Final = b"\x5a"  # 11, Event
_SPAN_DROPPED_EVENTS: Final = b"\x60"  # 12, uint32
_SPAN_LINKS: Final = b"\x6a"  # 13, Link
_SPAN_DROPPED_LINKS: Final = b"\x70"  # 14, uint32
_SPAN_STATUS: Final = b"\x7a"  # 15, Status
_SPAN_FLAGS: Final = b"\x85\x01"  # 16, fixed32
# Span.Event / Span.Link / Status
_EVENT_TIME: Final = b"\x09"  # 1, fixed64
_EVENT_NAME: Final = b"\x12"  # 2
_EVENT_ATTRIBUTES: Final = b"\x1a"  # 3
_EVENT_DROPPED_ATTRIBUTES: Final = b"\x20"  # 4
_LINK_TRACE_ID: Final = b"\x0a"  # 1
_LINK_SPAN_ID: Final = b"\x12"  # 2
_LINK_TRACE_STATE: Final = b"\x1a"  # 3
_LINK_ATTRIBUTES: Final = b"\x22"  # 4
_LINK_DROPPED_ATTRIBUTES: Final = b"\x28"  # 5
_LINK_FLAGS: Final = b"\x35"  # 6, fixed32
_STATUS_MESSAGE: Final = b"\x12"  # 2
_STATUS_CODE: Final = b"\x18"  # 3, enum
# KeyValue / AnyValue / ArrayValue / KeyValueList
_KEY_VALUE_KEY: Final = b"\x0a"  # 1
_KEY_VALUE_VALUE: Final = b"\x12"  # 2
_ANY_STRING: Final = b"\x0a"  # 1
_ANY_BOOL: Final = b"\x10"  # 2
_ANY_INT: Final = b"\x18"  # 3
_ANY_DOUBLE: Final = b"\x21"  # 4, fixed64 (double)
_ANY_ARRAY: Final = b"\x2a"  # 5
_ANY_KVLIST: Final = b"\x32"  # 6
_ANY_BYTES: Final = b"\x3a"  # 7
_LIST_VALUES: Final = b"\x0a"  # ArrayValue.values / KeyValueList.values, 1

# SpanFlags: bit 8 says whether bit 9 (the parent is remote) is known; always known here.
_HAS_IS_REMOTE: Final = 0x100
_IS_REMOTE: Final = 0x200
_FLAGS_LOCAL: Final = _SPAN_FLAGS + struct.pack("<I", _HAS_IS_REMOTE)
_FLAGS_REMOTE: Final = _SPAN_FLAGS + struct.pack("<I", _HAS_IS_REMOTE | _IS_REMOTE)
# OTLP's SpanKind numbers are the API's plus one (0 is UNSPECIFIED). Enum members are
# singletons, keyed here by identity: hashing an enum member runs Python code per lookup.
_KINDS: Final = {id(kind): _SPAN_KIND + _VARINT_BYTES[kind.value + 1] for kind in SpanKind}
_STATUS_CODES: Final = {id(code): code.value for code in StatusCode}

_pack_fixed64 = struct.Struct("<Q").pack
_pack_double = struct.Struct("<d").pack


def _varint(value: int) -> bytes:
    if value < 0x80:
        return _VARINT_BYTES[value] if value >= 0 else _varint(value + (1 << 64))
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: tag, payload length, payload."""
    size = len(payload)
    return tag + (_VARINT_BYTES[size] if size < 0x80 else _varint(size)) + payload


_UNSET_STATUS: Final = _SPAN_STATUS + b"\x00"  # an empty Status message


def _text(value: str) -> bytes:
    # OTLP strings must be valid UTF-8 (the collector rejects the whole request otherwise).
    return value.encode("utf-8", "replace")


def _any_value(value: object) -> bytes:
    """An `AnyValue` message body (the same type mapping as the SDK's encoder)."""
    if value is None:
        return b""
    if isinstance(value, bool):
        return _ANY_BOOL + (b"\x01" if value else b"\x00")
    if isinstance(value, str):
        return _field(_ANY_STRING, _text(value))
    if isinstance(value, int):
        return _ANY_INT + _varint(value)
    if isinstance(value, float):
        return _ANY_DOUBLE + _pack_double(value)
    if isinstance(value, bytes):
        return _field(_ANY_BYTES, value)
    if isinstance(value, Sequence):
        return _field(
            _ANY_ARRAY, b"".join([_field(_LIST_VALUES, _any_value(item)) for item in value])
        )
    if isinstance(value, Mapping):
        items = {str(key): item for key, item in value.items()}
        return _field(_ANY_KVLIST, _key_values(_LIST_VALUES, items))
    raise TypeError(f"cannot encode an attribute value of type {type(value).__name__}")


def _key_value(tag: bytes, key: str, value: object) -> bytes:
    return _field(
        tag, _field(_KEY_VALUE_KEY, _text(key)) + _field(_KEY_VALUE_VALUE, _any_value(value))
    )


# Encoded `KeyValue`s of scalar attributes: most (`http.request.method=GET`,
# `db.system=redis`, a route) repeat from span to span. `typed` keeps 1, True and 1.0 apart;
# unbounded values (paths, ids) only cycle through the least recently used entries.
_CACHEABLE: Final = frozenset({str, int, bool, float})


@functools.lru_cache(maxsize=4096, typed=True)
def _memo_key_value(tag: bytes, key: str, value: str | int | float) -> bytes:
    return _key_value(tag, key, value)


def _key_values(tag: bytes, attributes: Mapping[str, object] | None) -> bytes:
    """Repeated `KeyValue` fields under `tag`; a value of no OTLP type is left out and logged."""
    if not attributes:
        return b""
    try:
        return b"".join(
            [
                _memo_key_value(tag, key, value)
                if type(value) in _CACHEABLE
                else _key_value(tag, key, value)
                for key, value in attributes.items()
            ]
        )
    except TypeError:
        pass
    out = []
    for key, value in attributes.items():
        try:
            out.append(_key_value(tag, key, value))
        except TypeError:
            logger.warning("attribute %s left out of the export", key, exc_info=True)
    return b"".join(out)


def _trace_state(context: SpanContext) -> str:
    state = context.trace_state
    if state is DEFAULT_TRACE_STATE:  # the shared empty one: most spans have no trace state
        return ""
    return ",".join([f"{key}={value}" for key, value in state.items()]) if state else ""


def _resource(resource: Resource) -> bytes:
    return _key_values(_RESOURCE_ATTRIBUTES, resource.attributes)


def _scope(scope: InstrumentationScope | None) -> bytes:
    if scope is None:
        return b""
    out = _field(_SCOPE_NAME, _text(scope.name)) if scope.name else b""
    if scope.version:
        out += _field(_SCOPE_VERSION, _text(scope.version))
    return out + _key_values(_SCOPE_ATTRIBUTES, scope.attributes)


def _link(link: Link) -> bytes:
    context = link.context
    out = _field(_LINK_TRACE_ID, context.trace_id.to_bytes(16, "big"))
    out += _field(_LINK_SPAN_ID, context.span_id.to_bytes(8, "big"))
    state = _trace_state(context)
    if state:
        out += _field(_LINK_TRACE_STATE, _text(state))
    out += _key_values(_LINK_ATTRIBUTES, link.attributes)
    if link.dropped_attributes:
        out += _LINK_DROPPED_ATTRIBUTES + _varint(link.dropped_attributes)
    flags = _HAS_IS_REMOTE | (_IS_REMOTE if context.is_remote else 0)
    return out + _LINK_FLAGS + struct.pack("<I", flags)


def _event(event: Event) -> bytes:
    body = _EVENT_TIME + _pack_fixed64(event.timestamp)
    if event.name:
        body += _field(_EVENT_NAME, _text(event.name))
    body += _key_values(_EVENT_ATTRIBUTES, event.attributes)
    if event.dropped_attributes:
        body += _EVENT_DROPPED_ATTRIBUTES + _varint(event.dropped_attributes)
    return body


def _status(status: Status) -> bytes:
    """The span's `Status` field."""
    if status.status_code is StatusCode.UNSET and not status.description:
        return _UNSET_STATUS
    body = _field(_STATUS_MESSAGE, _text(status.description)) if status.description else b""
    code = _STATUS_CODES[id(status.status_code)]
    return _field(_SPAN_STATUS, body + _STATUS_CODE + _VARINT_BYTES[code] if code else body)


def encode_span(span: ReadableSpan) -> bytes:
    """One `Span` message body."""
    context = span.get_span_context()
    if context is None:
        raise ValueError("a finished span always has a span context")
    parts = [
        _SPAN_TRACE_ID,
        b"\x10",
        context.trace_id.to_bytes(16, "big"),
        _SPAN_SPAN_ID,
        b"\x08",
        context.span_id.to_bytes(8, "big"),
    ]
    state = _trace_state(context)
    if state:
        parts.append(_field(_SPAN_TRACE_STATE, _text(state)))
    parent = span.parent
    if parent is not None:
        parts += (_SPAN_PARENT_SPAN_ID, b"\x08", parent.span_id.to_bytes(8, "big"))
    if span.name:
        parts.append(_field(_SPAN_NAME, _text(span.name)))
    parts.append(_KINDS[id(span.kind)])
    if span.start_time:
        parts += (_SPAN_START, _pack_fixed64(span.start_time))
    if span.end_time:
        parts += (_SPAN_END, _pack_fixed64(span.end_time))
    parts.append(_key_values(_SPAN_ATTRIBUTES, span.attributes))
    if span.dropped_attributes:
        parts += (_SPAN_DROPPED_ATTRIBUTES, _varint(span.dropped_attributes))
    parts += [_field(_SPAN_EVENTS, _event(event)) for event in span.events]
    if span.dropped_events:
        parts += (_SPAN_DROPPED_EVENTS, _varint(span.dropped_events))
    parts += [_field(_SPAN_LINKS, _link(link)) for link in span.links]
    if span.dropped_links:
        parts += (_SPAN_DROPPED_LINKS, _varint(span.dropped_links))
    parts.append(_status(span.status))
    parts.append(_FLAGS_REMOTE if parent is not None and parent.is_remote else _FLAGS_LOCAL)
    return b"".join(parts)


def encode_spans(spans: Sequence[ReadableSpan]) -> bytes:
    """A serialised `ExportTraceServiceRequest`: spans grouped by resource, then by scope.

    Groups keep the order in which a batch first mentions them, as the stock encoder does.
    A resource or scope is told apart by identity: the SDK hands every span of a tracer
    the same objects, so this costs no hashing of their attributes.
    """
    # id(resource) -> (resource, id(scope) -> (scope, encoded spans))
    groups: dict[int, tuple[Resource, dict[int, tuple[InstrumentationScope | None, list[bytes]]]]]
    groups = {}
    for span in spans:
        resource = span.resource
        group = groups.get(id(resource))
        if group is None:
            group = groups[id(resource)] = (resource, {})
        scope = span.instrumentation_scope
        encoded = group[1].get(id(scope))
        if encoded is None:
            encoded = group[1][id(scope)] = (scope, [])
        encoded[1].append(_field(_SCOPE_SPANS_SPANS, encode_span(span)))
    out: list[bytes] = []
    for resource, scopes in groups.values():
        body = [_field(_RESOURCE_SPANS_RESOURCE, _resource(resource))]
        for scope, encoded_spans in scopes.values():
            scope_body = _field(_SCOPE_SPANS_SCOPE, _scope(scope)) + b"".join(encoded_spans)
            if scope is not None and scope.schema_url:
                scope_body += _field(_SCOPE_SPANS_SCHEMA_URL, _text(scope.schema_url))
            body.append(_field(_RESOURCE_SPANS_SCOPE_SPANS, scope_body))
        if resource.schema_url:
            body.append(_field(_RESOURCE_SPANS_SCHEMA_URL, _text(resource.schema_url)))
        out.append(_field(_REQUEST_RESOURCE_SPANS, b"".join(body)))
    return b"".join(out)
