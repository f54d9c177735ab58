"""Hooks the app factory and the lifespan resources call; each is a no-op when telemetry is off.

SQL, Redis and HTTP-client spans come from the OpenTelemetry libraries: they cost little
next to the work they describe (figures in `bench/README.md`). The HTTP server side is our
own `ServerTelemetryMiddleware` (see its docstring for why).
"""

from __future__ import annotations

import opentelemetry.instrumentation.sqlalchemy as sqlalchemy_instrumentation
from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from opentelemetry import trace
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.instrumentation.sqlalchemy.version import __version__ as sqlalchemy_version
from opentelemetry.metrics import NoOpUpDownCounter
from sqlalchemy.ext.asyncio import AsyncEngine

from mercato_shared.telemetry.pool import observe_pool
from mercato_shared.telemetry.server import ServerTelemetryMiddleware
from mercato_shared.telemetry.state import telemetry_active

# FastAPI's own OpenTelemetry support switches itself on whenever SDK providers are
# installed; ServerTelemetryMiddleware does its job (see server.py for the measurements).
FASTAPI_NATIVE_TELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def instrument_app(app: FastAPI) -> None:
    """Add the server span/metric middleware as the outermost user middleware.

    It must wrap `RequestContextMiddleware`, so that the error bodies that middleware writes
    see the request's span (and carry its trace id). Build the app with
    `FastAPI(telemetry=FASTAPI_NATIVE_TELEMETRY_OFF)`, or every request gets two server spans.
    """
    if telemetry_active():
        app.add_middleware(ServerTelemetryMiddleware)


def instrument_engine(engine: AsyncEngine) -> None:
    """SQL client spans for every statement, and the pool's connection gauges.

    The library's `EngineTracer` is attached to this engine directly, rather than through
    `SQLAlchemyInstrumentor().instrument(engine=...)`, because:

    * the instrumentor is a per-process singleton: a second engine (tests, two databases)
      would silently stay untraced;
    * its global mode wraps `create_engine`, which misses engines built by
      `create_async_engine` when `sqlalchemy.ext.asyncio` was imported first (it was: no
      SELECT span reached the test receiver), and adds a `connect` span to every request;
    * its version guard stops at SQLAlchemy < 2.1; the cursor events it hooks are unchanged
      in 2.1 (the e2e suite asserts the SQL spans);
    * it updates `db.client.connections.usage` on every checkout and checkin; we pass a
      no-op counter and report the pool through an observable gauge read at export time.
    """
    if telemetry_active():
        tracer = trace.get_tracer(sqlalchemy_instrumentation.__name__, sqlalchemy_version)
        unused = NoOpUpDownCounter("db.client.connections.usage")
        EngineTracer(tracer, engine.sync_engine, unused)  # type: ignore[no-untyped-call]
        observe_pool(engine)


def instrument_http_client() -> None:
    """HTTP client spans for every `aiohttp.ClientSession` created after this call, which
    also inject `traceparent`, so the callee joins the trace. Call it before the session.

    Why the instrumentor rather than `create_trace_config` passed to the session's
    `trace_configs`: the library's public `create_trace_config` takes the semantic
    convention mode only as a value of a private enum (`opentelemetry.instrumentation.
    _semconv`), and defaults to the old attribute names (`http.method`, `http.url`); the
    instrumentor reads `OTEL_SEMCONV_STABILITY_OPT_IN` (which `init_telemetry` sets to
    `http`) and gives the stable names (`http.request.method`, `url.full`,
    `http.response.status_code`) the collector's span metrics and the e2e suite expect.
    It wraps `ClientSession.__init__` once per process (nothing per call); a process has
    one session.
    """
    if telemetry_active():
        instrumentor = AioHttpClientInstrumentor()
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()
