"""`otlp_spans.encode_spans` writes what the stock OTLP encoder would, byte for byte in meaning.

Each case builds real SDK spans (in-memory exporter), encodes them both ways and compares the
parsed official protobuf messages: a field we wrote wrongly, left out or added shows as a
difference. One difference is on purpose: a link's `trace_state`, which OTLP defines and the
stock encoder (1.45) leaves out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as stock_encode
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

from mercato_otel_accelerator.exporter import LeanOTLPSpanExporter
from mercato_otel_accelerator.otlp_spans import encode_spans

Scenario = Callable[[TracerProvider], None]


def _provider(exporter: InMemorySpanExporter, **options: Any) -> TracerProvider:
    resource = Resource.create({"service.name": "catalog", "service.instance.id": uuid4().hex})
    provider = TracerProvider(resource=resource, **options)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _finished(scenario: Scenario, *, limits: SpanLimits | None = None) -> tuple[ReadableSpan, ...]:
    exporter = InMemorySpanExporter()
    scenario(_provider(exporter, span_limits=limits))
    return exporter.get_finished_spans()


def _assert_same_as_stock(spans: tuple[ReadableSpan, ...]) -> ExportTraceServiceRequest:
    ours = ExportTraceServiceRequest.FromString(encode_spans(spans))
    comparable = ExportTraceServiceRequest()
    comparable.CopyFrom(ours)
    for resource_spans in comparable.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                for link in span.links:
                    link.ClearField("trace_state")
    assert comparable == stock_encode(spans)
    return ours


def _server_request(provider: TracerProvider) -> None:
    server = provider.get_tracer("mercato.http.server")
    redis = provider.get_tracer(
        "opentelemetry.instrumentation.redis", "0.66b1", schema_url="https://example.test/1.11.0"
    )
    with server.start_as_current_span("GET /products/{product_id}", kind=SpanKind.SERVER) as span:
        span.set_attributes({"http.request.method": "GET", "http.response.status_code": 200})
        with redis.start_as_current_span("GET", kind=SpanKind.CLIENT) as child:
            child.set_attributes({"db.system": "redis", "net.peer.port": 6379})


def _every_value_type(provider: TracerProvider) -> None:
    with provider.get_tracer("t").start_as_current_span("values") as span:
        span.set_attributes(
            {
                "text": "é ünïcode",
                "empty": "",
                "yes": True,
                "no": False,
                "zero": 0,
                "big": 2**62,
                "negative": -7,
                "ratio": 0.25,
                "texts": ("a", "b"),
                "numbers": (1, -2, 3),
                "flags": (True, False),
                "floats": (1.5, -0.0),
            }
        )


def _events_links_status(provider: TracerProvider) -> None:
    tracer = provider.get_tracer("t", "1.0")
    other = SpanContext(
        trace_id=0x1234,
        span_id=0x99,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("vendor", "x")]),
    )
    link = Link(other, {"link.kind": "follows"})
    with tracer.start_as_current_span("work", kind=SpanKind.PRODUCER, links=[link]) as span:
        span.add_event("checkpoint", {"step": 2})
        span.add_event("bare")
        try:
            raise ValueError("boom")
        except ValueError as exc:
            span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, "it broke"))
    with tracer.start_as_current_span("fine", kind=SpanKind.CONSUMER) as span:
        span.set_status(Status(StatusCode.OK))


def _remote_parent(provider: TracerProvider) -> None:
    parent = SpanContext(
        trace_id=0xABCDEF,
        span_id=0x42,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("congo", "t61rcWkgMzE"), ("rojo", "00f067aa0ba902b7")]),
    )
    context = set_span_in_context(NonRecordingSpan(parent))
    provider.get_tracer("t").start_span("child", context=context, kind=SpanKind.SERVER).end()


def _two_resources() -> tuple[ReadableSpan, ...]:
    exporter = InMemorySpanExporter()
    first, second = _provider(exporter), _provider(exporter)
    _server_request(first)
    _remote_parent(second)
    _server_request(first)
    return exporter.get_finished_spans()


@pytest.mark.parametrize(
    "scenario",
    [_server_request, _every_value_type, _events_links_status, _remote_parent],
    ids=["server-request", "value-types", "events-links-status", "remote-parent"],
)
def test_encodes_like_the_stock_encoder(scenario: Scenario) -> None:
    request = _assert_same_as_stock(_finished(scenario))
    assert request.resource_spans[0].scope_spans[0].spans


def test_links_keep_their_trace_state() -> None:
    request = _assert_same_as_stock(_finished(_events_links_status))
    (link,) = request.resource_spans[0].scope_spans[0].spans[0].links
    assert link.trace_state == "vendor=x"


def test_groups_by_resource_then_scope_in_batch_order() -> None:
    request = _assert_same_as_stock(_two_resources())
    assert len(request.resource_spans) == 2
    first = request.resource_spans[0].scope_spans
    assert [scope.scope.name for scope in first] == [
        "opentelemetry.instrumentation.redis",
        "mercato.http.server",
    ]
    assert [len(scope.spans) for scope in first] == [2, 2]


def test_dropped_counts_survive() -> None:
    limits = SpanLimits(max_span_attributes=1, max_events=1, max_links=1)
    context = SpanContext(0x1, 0x2, is_remote=False)

    def crowded(provider: TracerProvider) -> None:
        links = [Link(context), Link(context)]
        with provider.get_tracer("t").start_as_current_span("crowded", links=links) as span:
            span.set_attributes({"a": 1, "b": 2})
            span.add_event("one")
            span.add_event("two")

    request = _assert_same_as_stock(_finished(crowded, limits=limits))
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert (span.dropped_attributes_count, span.dropped_events_count) == (1, 1)
    assert span.dropped_links_count == 1


def test_the_attribute_cache_keeps_types_apart() -> None:
    def lookalikes(provider: TracerProvider) -> None:
        tracer = provider.get_tracer("t")
        for value in (1, True, 1.0, "1"):
            with tracer.start_as_current_span("s") as span:
                span.set_attribute("v", value)

    request = _assert_same_as_stock(_finished(lookalikes))
    values = [span.attributes[0].value for span in request.resource_spans[0].scope_spans[0].spans]
    assert [value.WhichOneof("value") for value in values] == [
        "int_value",
        "bool_value",
        "double_value",
        "string_value",
    ]


def test_an_empty_batch_is_an_empty_request() -> None:
    assert encode_spans(()) == b""


def test_the_exporter_drops_a_batch_over_the_size_limit_without_sending() -> None:
    # Port 9 (discard) is never contacted: the size check comes before the request.
    exporter = LeanOTLPSpanExporter(endpoint="http://127.0.0.1:9/v1/traces", max_request_size=10)
    assert exporter.export(_finished(_server_request)) is SpanExportResult.FAILURE
    exporter.shutdown()  # type: ignore[no-untyped-call]  # untyped in the SDK
    assert exporter.export(_finished(_server_request)) is SpanExportResult.FAILURE
