"""OpenTelemetry for Mercato processes: traces, metrics and logs over OTLP, public APIs only.

* `setup`: the SDK providers, configured through the standard `OTEL_*` variables;
* `state`: whether telemetry is configured and installed, and flushing it;
* `hooks`: the exporters, tracer and duration histogram: the SDK's, or the opt-in
  accelerator package's (`MERCATO_OTEL_ACCELERATOR`, `packages/otel-accelerator`);
* `server`: the HTTP server span + `http.server.request.duration` middleware;
* `buckets`: the duration histograms' bucket boundaries;
* `instrumentation`: hooks for the app factory and the lifespan resources (SQL, HTTP session,
  pool gauges);
* `redis`: Redis client spans, only inside a sampled trace;
* `pool`: `db.client.connection.count`;
* `spans`: `annotate(**attributes)`, business attributes on the current span, and
  `periodic_span(job)`, the span of a background job's run;
* `celery` (import it only where Celery is installed): task spans and Celery metrics.
"""

from mercato_shared.telemetry.instrumentation import (
    instrument_app,
    instrument_engine,
    instrument_http_client,
)
from mercato_shared.telemetry.redis import instrument_redis
from mercato_shared.telemetry.setup import init_telemetry
from mercato_shared.telemetry.spans import AttributeValue, annotate, periodic_span
from mercato_shared.telemetry.state import telemetry_active, telemetry_enabled

__all__ = [
    "AttributeValue",
    "annotate",
    "init_telemetry",
    "instrument_app",
    "instrument_engine",
    "instrument_http_client",
    "instrument_redis",
    "periodic_span",
    "telemetry_active",
    "telemetry_enabled",
]
