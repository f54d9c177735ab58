"""A real OTLP/HTTP receiver (for the tests and `make bench`): protobuf (gzip or deflate) in,
decoded records out.

It accepts what the OpenTelemetry SDK's OTLP/HTTP exporters send to `/v1/traces`,
`/v1/metrics` and `/v1/logs`, decodes it with `opentelemetry-proto` and keeps flat records
(span, log record, metric point) that tests can query by trace id, service and name.

    with OtlpReceiver() as receiver:            # a thread on a free 127.0.0.1 port
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
        ...
        spans = receiver.wait_for_spans(lambda s: s.trace_id == trace_id, count=3)

`python -m devtools.otlp_receiver --port N [--discard]` runs it on its own (the benchmark
uses `--discard`: answer 200 without decoding, so the sink costs as little CPU as possible).
"""

from __future__ import annotations

import argparse
import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, TypeVar

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

T = TypeVar("T")
Attributes = dict[str, Any]

SPAN_KINDS = {
    0: "UNSPECIFIED",
    1: "INTERNAL",
    2: "SERVER",
    3: "CLIENT",
    4: "PRODUCER",
    5: "CONSUMER",
}


def any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    return getattr(value, kind)


def attributes(pairs: Iterable[KeyValue]) -> Attributes:
    return {pair.key: any_value(pair.value) for pair in pairs}


@dataclass(frozen=True)
class Span:
    service: str
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: str
    attributes: Attributes
    status_code: int
    scope: str


@dataclass(frozen=True)
class LogRecord:
    service: str
    trace_id: str
    span_id: str
    body: Any
    severity: str
    attributes: Attributes


@dataclass(frozen=True)
class MetricPoint:
    service: str
    name: str
    unit: str
    kind: str
    attributes: Attributes
    value: float
    exemplar_trace_ids: tuple[str, ...] = ()


@dataclass
class Store:
    spans: list[Span] = field(default_factory=list)
    logs: list[LogRecord] = field(default_factory=list)
    metrics: list[MetricPoint] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=lambda: {"traces": 0, "metrics": 0, "logs": 0})
    lock: threading.Lock = field(default_factory=threading.Lock)


def decode_traces(request: ExportTraceServiceRequest) -> list[Span]:
    out = []
    for resource_spans in request.resource_spans:
        service = str(attributes(resource_spans.resource.attributes).get("service.name", ""))
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                out.append(
                    Span(
                        service=service,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        name=span.name,
                        kind=SPAN_KINDS.get(span.kind, str(span.kind)),
                        attributes=attributes(span.attributes),
                        status_code=span.status.code,
                        scope=scope_spans.scope.name,
                    )
                )
    return out


def decode_logs(request: ExportLogsServiceRequest) -> list[LogRecord]:
    out = []
    for resource_logs in request.resource_logs:
        service = str(attributes(resource_logs.resource.attributes).get("service.name", ""))
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                out.append(
                    LogRecord(
                        service=service,
                        trace_id=record.trace_id.hex(),
                        span_id=record.span_id.hex(),
                        body=any_value(record.body),
                        severity=record.severity_text,
                        attributes=attributes(record.attributes),
                    )
                )
    return out


def _points(metric: Any) -> tuple[str, Sequence[Any]]:
    kind = metric.WhichOneof("data")
    if kind is None:
        return "none", ()
    return kind, getattr(metric, kind).data_points


def decode_metrics(request: ExportMetricsServiceRequest) -> list[MetricPoint]:
    out = []
    for resource_metrics in request.resource_metrics:
        service = str(attributes(resource_metrics.resource.attributes).get("service.name", ""))
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind, points = _points(metric)
                for point in points:
                    if kind in ("histogram", "exponential_histogram"):
                        value = float(point.count)
                    else:
                        value = float(getattr(point, point.WhichOneof("value")))
                    exemplars = tuple(
                        e.trace_id.hex() for e in getattr(point, "exemplars", ()) if e.trace_id
                    )
                    out.append(
                        MetricPoint(
                            service=service,
                            name=metric.name,
                            unit=metric.unit,
                            kind=kind,
                            attributes=attributes(point.attributes),
                            value=value,
                            exemplar_trace_ids=exemplars,
                        )
                    )
    return out


def _decompress(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


class _Handler(BaseHTTPRequestHandler):
    store: ClassVar[Store]
    discard: ClassVar[bool] = False
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        signal = self.path.rstrip("/").rsplit("/", 1)[-1]
        if signal not in ("traces", "metrics", "logs"):
            self._reply(HTTPStatus.NOT_FOUND, b"")
            return
        if self.discard:
            self._reply(HTTPStatus.OK, b"")
            return
        try:
            payload = _decompress(body, self.headers.get("content-encoding", "").lower())
            response = self._ingest(signal, payload)
        except (DecodeError, OSError, zlib.error, EOFError):
            self._reply(HTTPStatus.BAD_REQUEST, b"")
            return
        self._reply(HTTPStatus.OK, response)

    def _ingest(self, signal: str, payload: bytes) -> bytes:
        store = self.store
        if signal == "traces":
            traces = ExportTraceServiceRequest.FromString(payload)
            with store.lock:
                store.spans.extend(decode_traces(traces))
                store.requests["traces"] += 1
            return ExportTraceServiceResponse().SerializeToString()
        if signal == "logs":
            logs = ExportLogsServiceRequest.FromString(payload)
            with store.lock:
                store.logs.extend(decode_logs(logs))
                store.requests["logs"] += 1
            return ExportLogsServiceResponse().SerializeToString()
        points = ExportMetricsServiceRequest.FromString(payload)
        with store.lock:
            store.metrics.extend(decode_metrics(points))
            store.requests["metrics"] += 1
        return ExportMetricsServiceResponse().SerializeToString()

    def _reply(self, status: HTTPStatus, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request access log."""


class OtlpReceiver:
    """The receiver on a background thread; a context manager that stops it on exit."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, discard: bool = False) -> None:
        self.store = Store()
        handler = type("Handler", (_Handler,), {"store": self.store, "discard": discard})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- queries ------------------------------------------------------------------------

    def spans(self, predicate: Callable[[Span], bool] = lambda _: True) -> list[Span]:
        with self.store.lock:
            return [s for s in self.store.spans if predicate(s)]

    def logs(self, predicate: Callable[[LogRecord], bool] = lambda _: True) -> list[LogRecord]:
        with self.store.lock:
            return [r for r in self.store.logs if predicate(r)]

    def metrics(
        self, predicate: Callable[[MetricPoint], bool] = lambda _: True
    ) -> list[MetricPoint]:
        with self.store.lock:
            return [m for m in self.store.metrics if predicate(m)]

    def trace(self, trace_id: str) -> list[Span]:
        return self.spans(lambda s: s.trace_id == trace_id)

    def wait_for(
        self,
        query: Callable[[], list[T]],
        done: Callable[[list[T]], bool],
        *,
        timeout: float = 20.0,
    ) -> list[T]:
        """Poll `query` until `done` holds or the timeout passes; return the last result.

        The timeout only bounds the wait for the exporters' next batch; the caller asserts
        on what arrived.
        """
        deadline = time.monotonic() + timeout
        result = query()
        while not done(result) and time.monotonic() < deadline:
            time.sleep(0.1)
            result = query()
        return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.otlp_receiver", description=__doc__)
    parser.add_argument("--port", type=int, default=4318)
    parser.add_argument("--discard", action="store_true", help="answer 200 without decoding")
    args = parser.parse_args()
    receiver = OtlpReceiver(port=args.port, discard=args.discard)
    receiver.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        receiver.stop()


if __name__ == "__main__":
    main()
