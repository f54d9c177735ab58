"""Which telemetry parts run in a process? Run in a fresh interpreter (providers are global).

    python -m tests.telemetry.installed_parts   # prints one JSON line

It installs telemetry exactly as a service does (`init_telemetry`, then `instrument_app` on
a FastAPI app), serves one request in process, and prints the types of the parts that ran.
`probe(accelerator=...)` runs it and reads the line: shared's `test_telemetry_default_path.py`
(the switch off) and the accelerator's `test_switched_on.py` (`MERCATO_OTEL_ACCELERATOR=true`).
Nothing leaves the process: the endpoint is the discard port, the batch and metric intervals
are far longer than the run, and it ends with `os._exit` before any exporter's shutdown flush.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.metrics import Histogram
from opentelemetry.sdk.trace import Span, Tracer
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.types import ASGIApp

from mercato_shared.telemetry import init_telemetry, instrument_app, setup
from mercato_shared.telemetry.hooks import ACCELERATOR_VARIABLE
from mercato_shared.telemetry.instrumentation import FASTAPI_NATIVE_TELEMETRY_OFF
from mercato_shared.telemetry.server import ServerTelemetryMiddleware


def qualified(value: object) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def server_middleware(app: FastAPI) -> ServerTelemetryMiddleware:
    """The middleware instance in the app's built stack (each layer's `app` is the next)."""
    layer: Any = app.middleware_stack
    while layer is not None and not isinstance(layer, ServerTelemetryMiddleware):
        layer = getattr(layer, "app", None)
    if layer is None:
        raise RuntimeError("no ServerTelemetryMiddleware in the app")
    return layer


async def serve_one(app: ASGIApp) -> int:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
        return (await client.get("/probe")).status_code


ROOT = Path(__file__).resolve().parents[2]
# Telemetry on (an endpoint), every request sampled, nothing exported during the run.
ENVIRONMENT = {
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
    "OTEL_TRACES_SAMPLER": "always_on",
    "OTEL_BSP_SCHEDULE_DELAY": "600000",
    "OTEL_BLRP_SCHEDULE_DELAY": "600000",
    "OTEL_METRIC_EXPORT_INTERVAL": "600000",
}


def main() -> None:
    os.environ.update(ENVIRONMENT)
    installed: list[setup.Providers] = []
    build = setup.build_providers

    def recording_build(*args: Any, **kwargs: Any) -> setup.Providers:
        providers = build(*args, **kwargs)  # the real thing, only remembered
        installed.append(providers)
        return providers

    setup.build_providers = recording_build
    report: dict[str, Any] = {"active": init_telemetry("probe")}
    (providers,) = installed
    finished = InMemorySpanExporter()
    providers.tracer_provider.add_span_processor(SimpleSpanProcessor(finished))

    app = FastAPI(telemetry=FASTAPI_NATIVE_TELEMETRY_OFF)

    @app.get("/probe")
    async def probe() -> dict[str, str]:
        span = trace.get_current_span()
        report["current_span"] = qualified(span)
        report["current_span_is_sdk_span"] = isinstance(span, Span)
        return {}

    instrument_app(app)
    report["status"] = asyncio.run(serve_one(app))
    middleware = server_middleware(app)
    durations: Any = middleware.durations
    report |= {
        "span_processor": qualified(providers.span_processor),
        "span_exporter": qualified(providers.span_exporter),
        "metric_exporter": qualified(providers.metric_exporter),
        "log_exporter": qualified(providers.log_exporter),
        "tracer": qualified(middleware.tracer),
        "durations": qualified(durations),
        "durations_instrument_is_sdk_histogram": isinstance(
            getattr(durations, "instrument", None), Histogram
        ),
        "tracer_is_sdk_tracer": type(middleware.tracer) is Tracer,
        "global_tracer_provider_is_ours": trace.get_tracer_provider() is providers.tracer_provider,
        "finished_spans": [qualified(span) for span in finished.get_finished_spans()],
        "accelerator_imported": any(
            name.startswith("mercato_otel_accelerator") for name in sys.modules
        ),
    }
    print(json.dumps(report), flush=True)
    os._exit(0)


def run_probe(module: str, *, accelerator: bool) -> dict[str, Any]:
    """Run a probe module in a fresh interpreter (the accelerator switched on or off, no other
    OTel variable of this environment); the JSON report it prints last."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("OTEL_") and key != ACCELERATOR_VARIABLE
    }
    env[ACCELERATOR_VARIABLE] = "true" if accelerator else "false"
    result = subprocess.run(
        [sys.executable, "-m", module],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the probe failed:\n{result.stderr}")
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    if (report["active"], report["status"]) != (True, 200):
        raise RuntimeError(f"telemetry was not installed or the probe's call failed: {report}")
    return report


def probe(*, accelerator: bool) -> dict[str, Any]:
    """Run this probe in a fresh interpreter, the switch on or off; its report."""
    return run_probe("tests.telemetry.installed_parts", accelerator=accelerator)


if __name__ == "__main__":
    main()
