"""Does an outbound call make a CLIENT span and carry the trace? Run in a fresh interpreter.

    python -m tests.telemetry.client_spans   # prints one JSON line

It installs telemetry as a service does (`init_telemetry`, then the lifespan's
`open_resources`, which instruments and creates the process's HTTP session), and makes one
call through that session (`mercato_shared.http.send`) inside a span of its own, to a callee
on a loopback port that records the `traceparent` it receives. It prints the finished
CLIENT spans (name, attributes, ids) and what the callee saw. Nothing leaves the process:
the OTLP endpoint is the discard port, the batch intervals are far longer than the run, and
it ends with `os._exit` before any exporter's shutdown flush.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from fastapi import FastAPI, Request
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from mercato_shared.dependencies import ServiceDependencies
from mercato_shared.http import send
from mercato_shared.resources import open_resources
from mercato_shared.settings import BaseServiceSettings
from mercato_shared.telemetry import init_telemetry
from mercato_shared.testing.loopback import serve_on_loopback
from tests.telemetry.installed_parts import ENVIRONMENT, run_probe


def callee(seen: list[str]) -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int, request: Request) -> dict[str, int]:
        seen.append(request.headers.get("traceparent", ""))
        return {"id": item_id}

    return app


async def call_out(report: dict[str, Any]) -> None:
    seen: list[str] = []
    tracer = trace.get_tracer("probe")
    async with (
        serve_on_loopback(callee(seen)) as url,
        open_resources(BaseServiceSettings(), ServiceDependencies()) as resources,
    ):
        with tracer.start_as_current_span("request", kind=SpanKind.SERVER) as parent:
            reply = await send(resources.http, "GET", f"{url}/items/7")
        report["status"] = reply.status_code
        report["parent_span_id"] = format(parent.get_span_context().span_id, "016x")
        report["trace_id"] = format(parent.get_span_context().trace_id, "032x")
    report["traceparents"] = seen


def main() -> None:
    os.environ.update(ENVIRONMENT)
    report: dict[str, Any] = {"active": init_telemetry("probe")}
    finished = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        raise RuntimeError("the SDK's tracer provider was not installed")
    provider.add_span_processor(SimpleSpanProcessor(finished))
    asyncio.run(call_out(report))
    report["client_spans"] = [
        {
            "name": span.name,
            "attributes": dict(span.attributes or {}),
            "trace_id": format(span.context.trace_id, "032x"),
            "span_id": format(span.context.span_id, "016x"),
            "parent_span_id": format(span.parent.span_id, "016x") if span.parent else None,
        }
        for span in finished.get_finished_spans()
        if span.kind == SpanKind.CLIENT
    ]
    print(json.dumps(report), flush=True)
    os._exit(0)


def probe() -> dict[str, Any]:
    """Run the probe in a fresh interpreter (stock telemetry); its report."""
    return run_probe("tests.telemetry.client_spans", accelerator=False)


if __name__ == "__main__":
    main()
