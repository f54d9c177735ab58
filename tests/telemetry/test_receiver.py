"""The test receiver decodes what the SDK's OTLP/HTTP exporters really send."""

from __future__ import annotations

import gzip
import logging
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from devtools.otlp_receiver import OtlpReceiver


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_spans_from_the_sdk_exporter_are_decoded(
    receiver: OtlpReceiver, compression: Compression
) -> None:
    exporter = OTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces", compression=compression)
    provider = TracerProvider(resource=Resource.create({"service.name": "unit"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with (
        tracer.start_as_current_span("parent", kind=SpanKind.SERVER) as parent,
        tracer.start_as_current_span("child", attributes={"order.id": 7, "ok": True}),
    ):
        pass
    provider.shutdown()
    trace_id = format(parent.get_span_context().trace_id, "032x")
    spans = {s.name: s for s in receiver.trace(trace_id)}
    assert set(spans) == {"parent", "child"}
    assert spans["parent"].kind == "SERVER"
    assert spans["parent"].service == "unit"
    assert spans["child"].parent_span_id == spans["parent"].span_id
    assert spans["child"].attributes == {"order.id": 7, "ok": True}


def post(url: str, body: bytes, encoding: str | None = None) -> int:
    headers = {"content-type": "application/x-protobuf"}
    if encoding:
        headers["content-encoding"] = encoding
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_garbage_is_a_400_and_unknown_paths_a_404(receiver: OtlpReceiver) -> None:
    assert post(f"{receiver.endpoint}/v1/traces", gzip.compress(b"\xff" * 10), "gzip") == 400
    assert post(f"{receiver.endpoint}/v1/nothing", b"") == 404
    assert receiver.spans() == []


def test_wait_for_returns_what_arrived(receiver: OtlpReceiver) -> None:
    logging.getLogger(__name__).debug("nothing exported here")
    assert receiver.wait_for(receiver.logs, bool, timeout=0.2) == []
