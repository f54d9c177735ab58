"""The HTTP server span and the RED metric of every request, in one lean ASGI middleware.

Why our own and not a library's (the figures, on a cached catalog product read, are in
`bench/README.md`, "Figures behind choices in the code"):

* `opentelemetry-instrumentation-fastapi` wraps the app in the generic ASGI middleware
  (server span plus an ASGI `send`/`receive` span per message unless excluded, a dozen
  attributes through generic header getters, two duration metrics): far more work per
  request than the span and the metric need.
* FastAPI's native telemetry (on whenever SDK providers exist; `create_app` turns it off)
  with its defaults adds dependency, endpoint and serialization spans; with those and its
  logs off it costs what this middleware costs at 100% sampling, and more at the default
  10%, where cost matters most: it builds the server attributes (Host parsing, query
  re-encoding), extracts context from every request and counts active requests whether or
  not the request is sampled.
* What this middleware costs per request is mostly the SDK's histogram `record`.

This middleware does the part users read and nothing else:

* one SERVER span per request named `METHOD /route/{template}`, continuing the caller's
  W3C `traceparent` (the global propagator), with the stable HTTP semantic attributes
  (`http.request.method`, `url.path`, `url.scheme`, `http.route`,
  `http.response.status_code`, `error.type`); attributes are only built for sampled spans;
  the span is the SDK tracer's (or the accelerator's, when `MERCATO_OTEL_ACCELERATOR` is on:
  `hooks.py`);
* an exception escaping the app is recorded on the span (status ERROR); a 5xx response sets
  status ERROR too;
* `http.server.request.duration` (seconds, stable attribute names; an SDK histogram unless
  the accelerator is on) recorded inside the server span's context, so sampled requests
  leave exemplars that link histogram buckets to traces, and `http.server.active_requests`
  (read at export time);
* a `traceresponse` header (W3C Trace Context level 2) with the trace id, the span id and
  the sampled flag, and `X-Trace-Id` with the trace id alone.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Iterable
from typing import Final

from opentelemetry import context, metrics, propagate, trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mercato_shared.context import TRACE_ID_HEADER
from mercato_shared.telemetry.buckets import DURATION_BUCKETS
from mercato_shared.telemetry.hooks import (
    DurationRecorder,
    HistogramSpec,
    SeriesKey,
    TelemetryHooks,
    telemetry_hooks,
)

_PROPAGATION_HEADERS: Final = frozenset({b"traceparent", b"tracestate", b"baggage"})
TRACE_ID_HEADER_BYTES: Final = TRACE_ID_HEADER.encode("latin-1")


KNOWN_METHODS: Final = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"}
)


REQUEST_DURATION: Final = HistogramSpec(
    "http.server.request.duration",
    unit="s",
    description="Duration of HTTP server requests.",
    boundaries=DURATION_BUCKETS,
)


def route_template(scope: Scope) -> str | None:
    """The matched route's path template (`/products/{product_id}`), if routing matched."""
    route = scope.get("route")
    # path_format: the template without convertors (`{product_id:x}` is `{product_id}`).
    path = getattr(route, "path_format", None)
    return path if isinstance(path, str) else None


def _parent_context(scope: Scope) -> context.Context | None:
    carrier = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope["headers"]
        if name in _PROPAGATION_HEADERS
    }
    return propagate.extract(carrier) if carrier else None


class ServerTelemetryMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        hooks: TelemetryHooks | None = None,
    ) -> None:
        """The providers default to the process's global ones, `hooks` to the process's
        (`telemetry_hooks()`: the SDK's parts unless the accelerator is switched on)."""
        self.app = app
        hooks = hooks or telemetry_hooks()
        self.tracer = hooks.tracer("mercato.http.server", tracer_provider)
        self.durations: DurationRecorder = hooks.duration_histogram(
            REQUEST_DURATION, meter_provider
        )
        self._active = 0
        meter = metrics.get_meter("mercato.http.server", meter_provider=meter_provider)
        meter.create_observable_up_down_counter(
            "http.server.active_requests",
            callbacks=[self._observe_active],
            unit="{request}",
            description="Number of active HTTP server requests.",
        )

    def _observe_active(self, _: CallbackOptions) -> Iterable[Observation]:
        yield Observation(self._active)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        self._active += 1
        # Semantic conventions: an unknown method is "_OTHER", so clients cannot mint
        # span names and metric series at will.
        method: str = scope["method"] if scope["method"] in KNOWN_METHODS else "_OTHER"
        parent = _parent_context(scope)
        span = self.tracer.start_span(method, kind=SpanKind.SERVER, context=parent)
        token = context.attach(trace.set_span_in_context(span))
        span_context = span.get_span_context()
        ids = span_context.trace_id, span_context.span_id, span_context.trace_flags
        traceresponse = b"00-%032x-%016x-%02x" % ids
        # X-Trace-Id is the trace id inside it: 32 hex digits after "00-".
        trace_headers = (
            (b"traceresponse", traceresponse),
            (TRACE_ID_HEADER_BYTES, traceresponse[3:35]),
        )
        status_code = 500
        error_type: str | None = None

        # A plain function returning `send`'s awaitable: no coroutine of its own per message.
        def send_with_status(message: Message) -> Awaitable[None]:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                message["headers"] = [*message.get("headers", ()), *trace_headers]
            return send(message)

        try:
            await self.app(scope, receive, send_with_status)
        except BaseException as exc:
            error_type = type(exc).__qualname__
            span.record_exception(exc)
            raise
        finally:
            self._active -= 1
            route = route_template(scope)
            if status_code >= 500 and error_type is None:
                error_type = str(status_code)
            key: SeriesKey = (
                ("http.request.method", method),
                ("http.response.status_code", status_code),
            )
            if route is not None:
                key += (("http.route", route),)
            if error_type is not None:
                key += (("error.type", error_type),)
            self.durations.record(time.perf_counter() - started, key, span_context)
            if span.is_recording():
                if route is not None:
                    span.update_name(f"{method} {route}")
                span.set_attributes(
                    {
                        **dict(key),
                        "url.path": scope["path"],
                        "url.scheme": scope.get("scheme", "http"),
                    }
                )
                if error_type is not None:
                    span.set_status(Status(StatusCode.ERROR, error_type))
            span.end()
            context.detach(token)
