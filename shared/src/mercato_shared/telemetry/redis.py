"""Redis client spans, made only inside a sampled trace.

`opentelemetry-instrumentation-redis` makes the spans: its names and attributes are the
semantic conventions the collector's span metrics and Tempo's service graph read. What it
also does is run for every command whether the request is traced or not: it formats the
command's arguments into a statement, builds the span name and starts and ends a
non-recording span around the call. On a cached product read (one GET per request, 10%
sampling, catalog alone) skipping it for untraced requests took CPU per request from 722 to
629 us, the largest single cut of telemetry's cost (`bench/README.md`).

So the library instruments the one client the lifespan owns (`instrument_client`, not the
process-wide class patch), and a gate in front of it sends a command to the library only
when the current span is recording. A command outside a sampled request goes straight to
redis-py: it would only have made a non-recording span, or a root span of its own (a
background loop's command, sampled as a trace of one span), which tells a reader nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from opentelemetry import trace
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.trace import TracerProvider
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from mercato_shared.telemetry.setup import telemetry_active


def _recording() -> bool:
    return trace.get_current_span().is_recording()


def instrument_redis(client: Redis, *, tracer_provider: TracerProvider | None = None) -> None:
    """Spans for the client's commands and pipelines while a sampled span is current.

    `tracer_provider` defaults to the process's (and then only once telemetry is active);
    tests pass their own.
    """
    if tracer_provider is None and not telemetry_active():
        return
    plain_execute = cast("Callable[..., Awaitable[Any]]", client.execute_command)
    plain_pipeline = client.pipeline
    RedisInstrumentor.instrument_client(client, tracer_provider=tracer_provider)
    # redis-py leaves `execute_command` untyped; the library's wrappers keep its signature.
    traced_execute = cast("Callable[..., Awaitable[Any]]", client.execute_command)
    traced_pipeline = client.pipeline

    # Plain functions handing back the chosen client's awaitable: no extra coroutine per call.
    def execute_command(*args: Any, **options: Any) -> Awaitable[Any]:
        return (traced_execute if _recording() else plain_execute)(*args, **options)

    def pipeline(transaction: bool = True, shard_hint: Any = None) -> Pipeline:
        chosen = traced_pipeline if _recording() else plain_pipeline
        return chosen(transaction, shard_hint)

    # The commands (`client.get`, ...) call `self.execute_command`: an instance attribute
    # takes precedence over the class's method, as the library's own wrapper relies on.
    setattr(client, "execute_command", execute_command)  # noqa: B010
    setattr(client, "pipeline", pipeline)  # noqa: B010
