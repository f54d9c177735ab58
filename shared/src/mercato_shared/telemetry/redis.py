"""Redis client spans, made only inside a sampled trace.

Two costs of `opentelemetry-instrumentation-redis` are cut (the figures: `bench/README.md`,
"Figures behind choices in the code"):

* It runs for every command whether the request is traced or not: it formats the command's
  arguments into a statement, builds the span name and starts and ends a non-recording span
  around the call: on a cached product read, the largest part of telemetry's cost at the
  default sampling. So a gate in front of the client sends a command to the instrumentation
  only when the current span is recording. A command outside a sampled request goes
  straight to redis-py: it would only have made a non-recording span, or a root span of its
  own (a background loop's command, sampled as a trace of one span), which tells a reader
  nothing.
* For a traced command it sets each attribute through the span one by one, works out the
  semantic-convention mode per call and makes the span current through a context manager.
  `command_span` makes the same span (name, kind, attributes, error status; an integration
  test compares the two) from attributes computed once per client, and is not made current
  (a Redis command has no child spans), which costs less per traced command than the
  library's path. It is used only under the semantic-convention modes it
  reproduces (`OTEL_SEMCONV_STABILITY_OPT_IN` unset or `http`, which `init_telemetry` sets);
  under any other, and for pipelines, the library makes the spans.

The library is attached to the one client the lifespan owns (`instrument_client`), not
patched into every Redis class of the process.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any, Final, cast

from opentelemetry import trace
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider
from opentelemetry.util.types import AttributeValue
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from mercato_shared.telemetry.hooks import SpanStarter, TelemetryHooks, telemetry_hooks
from mercato_shared.telemetry.state import telemetry_active

# `OTEL_SEMCONV_STABILITY_OPT_IN` values whose Redis attribute names `command_span` knows.
_KNOWN_MODES: Final[tuple[frozenset[str], ...]] = (frozenset(), frozenset({"http"}))
_STATEMENT_LIMIT: Final = 1000
# The library's span names for the search module's commands; every other is its own name.
_SPAN_NAMES: Final = {"FT.SEARCH": "redis.search", "FT.CREATE": "redis.create_index"}


def _recording() -> bool:
    return trace.get_current_span().is_recording()


def _opt_in() -> frozenset[str]:
    value = os.environ.get("OTEL_SEMCONV_STABILITY_OPT_IN", "")
    return frozenset(part.strip().lower() for part in value.split(",") if part.strip())


def connection_attributes(client: Redis, opt_in: frozenset[str]) -> dict[str, AttributeValue]:
    """The attributes every command of `client` shares, named as the library names them."""
    kwargs = client.connection_pool.connection_kwargs
    attributes: dict[str, AttributeValue] = {
        "db.system": "redis",
        "db.redis.database_index": int(kwargs.get("db") or 0),
    }
    stable = "http" in opt_in
    peer, port, transport = (
        ("server.address", "server.port", "network.transport")
        if stable
        else ("net.peer.name", "net.peer.port", "net.transport")
    )
    if "path" in kwargs:
        attributes[peer] = str(kwargs["path"])
        attributes[transport] = "unix" if stable else "other"
    else:
        attributes[peer] = str(kwargs.get("host", "localhost"))
        attributes[port] = int(kwargs.get("port", 6379))
        attributes[transport] = "tcp" if stable else "ip_tcp"
    return attributes


def statement(args: tuple[Any, ...]) -> str:
    """`GET ?`: the command and a placeholder per argument (values never leave the process)."""
    if not args:
        return ""
    text = " ".join([str(args[0]), *["?"] * (len(args) - 1)])
    return text if len(text) <= _STATEMENT_LIMIT else text[: _STATEMENT_LIMIT - 3] + "..."


def span_name(args: tuple[Any, ...], database: AttributeValue) -> str:
    if not args or not args[0]:
        return str(database)
    command = str(args[0])
    return _SPAN_NAMES.get(command, command)


def command_span(
    tracer: SpanStarter,
    shared: dict[str, AttributeValue],
    execute: Callable[..., Awaitable[Any]],
) -> Callable[..., Awaitable[Any]]:
    """`execute` wrapped in a CLIENT span per command (see the module docstring)."""

    async def traced(*args: Any, **options: Any) -> Any:
        span = tracer.start_span(
            span_name(args, shared["db.redis.database_index"]),
            kind=SpanKind.CLIENT,
            attributes={
                "db.statement": statement(args),
                "db.redis.args_length": len(args),
                **shared,
            },
        )
        try:
            return await execute(*args, **options)
        except BaseException as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            raise
        finally:
            span.end()

    return traced


def instrument_redis(
    client: Redis,
    *,
    tracer_provider: TracerProvider | None = None,
    hooks: TelemetryHooks | None = None,
) -> None:
    """Spans for the client's commands and pipelines while a sampled span is current.

    `tracer_provider` defaults to the process's (and then only once telemetry is active),
    `hooks` to the process's (`telemetry_hooks()`); tests pass their own.
    """
    if tracer_provider is None and not telemetry_active():
        return
    plain_execute = cast("Callable[..., Awaitable[Any]]", client.execute_command)
    plain_pipeline = client.pipeline
    RedisInstrumentor.instrument_client(client, tracer_provider=tracer_provider)
    # redis-py leaves `execute_command` untyped; the library's wrappers keep its signature.
    traced_execute = cast("Callable[..., Awaitable[Any]]", client.execute_command)
    traced_pipeline = client.pipeline
    opt_in = _opt_in()
    if opt_in in _KNOWN_MODES:
        tracer = (hooks or telemetry_hooks()).tracer("mercato.redis", tracer_provider)
        shared = connection_attributes(client, opt_in)
        traced_execute = command_span(tracer, shared, plain_execute)

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
