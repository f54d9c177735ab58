"""OpenTelemetry for Mercato processes: traces, metrics and logs over OTLP, cheap by default.

* `setup`: the providers, configured through the standard `OTEL_*` variables;
* `server`: the HTTP server span + `http.server.request.duration` middleware;
* `histogram`: that histogram, aggregated in plain Python and added to the SDK's metric export;
* `otlp_spans` and `exporter`: finished spans written as OTLP protobuf bytes directly, sent
  by the SDK's OTLP/HTTP exporter;
* `instrumentation`: hooks for the app factory and the lifespan resources (SQL, HTTP client,
  pool gauges);
* `redis`: Redis client spans, only inside a sampled trace;
* `pool`: `db.client.connection.count`;
* `spans`: `annotate(**attributes)`, business attributes on the current span;
* `celery` (import it only where Celery is installed): task spans and Celery metrics.
"""

from mercato_shared.telemetry.instrumentation import (
    instrument_app,
    instrument_engine,
    instrument_http_client,
)
from mercato_shared.telemetry.redis import instrument_redis
from mercato_shared.telemetry.setup import init_telemetry, telemetry_active, telemetry_enabled
from mercato_shared.telemetry.spans import AttributeValue, annotate

__all__ = [
    "AttributeValue",
    "annotate",
    "init_telemetry",
    "instrument_app",
    "instrument_engine",
    "instrument_http_client",
    "instrument_redis",
    "telemetry_active",
    "telemetry_enabled",
]
