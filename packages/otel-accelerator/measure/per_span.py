"""CPU per operation, the SDK's parts against the accelerator's, in one process (no I/O).

    uv run --frozen --all-packages python packages/otel-accelerator/measure/per_span.py

Each operation is what the server middleware does per request, on spans and a histogram
shaped like a catalog product read's:

* `sampled span`: start a SERVER span, set the six attributes the middleware sets, end it
  (the span processor keeps it: no export);
* `dropped root span`: start and end a span of a new trace the sampler drops (90% of the
  requests at the default 10% sampling);
* `encode span`: the OTLP protobuf encoding of a batch of 512 such spans, per span (stock:
  the exporter's `encode_spans(...).SerializeToString()`);
* `histogram record`: one `http.server.request.duration` measurement inside a sampled span.

Every figure is the best of `--rounds` rounds of `--count` operations, in CPU time of this
process (`time.process_time_ns`). It is a micro-measurement: it leaves out the request
around the span and says nothing about throughput (`make bench` measures that).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

from opentelemetry import context, trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as stock_encode
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, Sampler, TraceIdRatioBased
from opentelemetry.trace import SpanKind
from opentelemetry.util.types import AttributeValue

from mercato_otel_accelerator import Accelerator
from mercato_otel_accelerator.otlp_spans import encode_spans as lean_encode
from mercato_shared.telemetry.hooks import SeriesKey, SpanStarter, StockHooks, TelemetryHooks
from mercato_shared.telemetry.server import REQUEST_DURATION

ATTRIBUTES: dict[str, AttributeValue] = {
    "http.request.method": "GET",
    "http.response.status_code": 200,
    "http.route": "/products/{product_id}",
    "url.path": "/products/7",
    "url.scheme": "http",
    "server.address": "catalog",
}
KEY: SeriesKey = (
    ("http.request.method", "GET"),
    ("http.response.status_code", 200),
    ("http.route", "/products/{product_id}"),
)
BATCH = 512


class Keep(SpanProcessor):
    """Keeps the last finished spans (what a batch processor holds), exports nothing."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        if len(self.spans) >= BATCH:
            self.spans.clear()
        self.spans.append(span)


def provider(sampler: Sampler) -> tuple[TracerProvider, Keep]:
    keep = Keep()
    tracer_provider = TracerProvider(
        sampler=sampler, resource=Resource.create({"service.name": "catalog"})
    )
    tracer_provider.add_span_processor(keep)
    return tracer_provider, keep


def span_loop(tracer: SpanStarter) -> Callable[[int], None]:
    def run(count: int) -> None:
        for _ in range(count):
            span = tracer.start_span("GET", kind=SpanKind.SERVER)
            if span.is_recording():
                span.update_name("GET /products/{product_id}")
                span.set_attributes(ATTRIBUTES)
            span.end()

    return run


def best_ns(run: Callable[[int], None], count: int, rounds: int) -> float:
    run(min(count, 1_000))  # warm caches and lazy imports
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time_ns()
        run(count)
        best = min(best, (time.process_time_ns() - started) / count)
    return best


def measure(hooks: TelemetryHooks, count: int, rounds: int) -> dict[str, float]:
    sampled_provider, kept = provider(ALWAYS_ON)
    dropped_provider, _ = provider(ParentBased(TraceIdRatioBased(0.0)))
    sampled = hooks.tracer("mercato.http.server", sampled_provider)
    dropped = hooks.tracer("mercato.http.server", dropped_provider)
    results = {
        "sampled span": best_ns(span_loop(sampled), count, rounds),
        "dropped root span": best_ns(span_loop(dropped), count, rounds),
    }
    span_loop(sampled)(BATCH)
    batch = list(kept.spans)

    def encode(batches: int) -> None:
        for _ in range(batches):
            if isinstance(hooks, Accelerator):
                lean_encode(batch)
            else:
                stock_encode(batch).SerializeToString()

    results["encode span"] = best_ns(encode, max(1, count // BATCH), rounds) / BATCH

    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    durations = hooks.duration_histogram(REQUEST_DURATION, meter_provider)
    span = sampled_provider.get_tracer("t").start_span("request")
    token = context.attach(trace.set_span_in_context(span))
    span_context = span.get_span_context()

    def record(n: int) -> None:
        for _ in range(n):
            durations.record(0.003, KEY, span_context)

    try:
        results["histogram record"] = best_ns(record, count, rounds)
    finally:
        context.detach(token)
        span.end()
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000, help="operations per round")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    stock = measure(StockHooks(), args.count, args.rounds)
    accelerated = measure(Accelerator(), args.count, args.rounds)
    print("| operation | stock us | accelerator us | accelerator / stock |")
    print("|---|---:|---:|---:|")
    for name, stock_ns in stock.items():
        ours_ns = accelerated[name]
        ratio = ours_ns / stock_ns
        print(f"| {name} | {stock_ns / 1000:.2f} | {ours_ns / 1000:.2f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
