"""`python -m bench.telemetry_profile`: flame graphs of a product read under each telemetry setting.

For each configuration of the telemetry suite (`bench/scenarios.py`; `--config` to choose) it
starts one catalog process (uvicorn, one worker) on the bench's databases, exporting to the
bench's OTLP sink, warms its cache, puts wrk on `GET /products/7` and records the process
with py-spy for the same time: `bench/results/telemetry-<config>.svg`. Side by side, the
graphs show what telemetry adds to a read (the server span, the duration histogram, the
span export thread).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading

from bench import py_spy, wrk
from bench.callgrind import PATH, prepare_catalog, send_reads, wait_ready
from bench.results import RESULTS
from bench.scenarios import CONFIGS
from bench.stacks import ROOT, base_env, otlp_sink
from bench.telemetry import config_env
from devtools.ports import free_port

WARMUP = 500


def main() -> None:
    names = [config.name for config in CONFIGS]
    parser = argparse.ArgumentParser(prog="python -m bench.telemetry_profile", description=__doc__)
    parser.add_argument("--config", action="append", choices=names, help="repeatable")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--offset", type=int, default=24000, help="the bench slot's port offset")
    args = parser.parse_args()
    chosen = [config for config in CONFIGS if config.name in (args.config or ["off", "stock"])]
    base = base_env(args.offset)
    prepare_catalog(base)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with otlp_sink() as sink:
        for config in chosen:
            port = free_port()
            env = config_env(config, base, sink) | {"OTEL_SERVICE_NAME": "catalog"}
            argv = [sys.executable, "-m", "uvicorn", "catalog.main:create_app", "--factory"]
            argv += ["--port", str(port), "--workers", "1", "--no-access-log"]
            service = subprocess.Popen(  # noqa: S603 - fixed argv: this interpreter
                argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                wait_ready(port)
                send_reads(port, WARMUP)
                load = threading.Thread(
                    target=wrk.run,
                    args=(f"http://127.0.0.1:{port}{PATH}",),
                    kwargs={"seconds": args.seconds + 2, "threads": 1, "connections": 16},
                )
                load.start()
                output = RESULTS / f"telemetry-{config.name}.svg"
                subprocess.run(  # noqa: S603 - fixed argv: py-spy of this environment
                    py_spy.record(
                        service.pid, output, seconds=args.seconds, rate=250, children=False
                    ),
                    check=True,
                    capture_output=True,
                )
                load.join()
                print(f"wrote {output}")
            finally:
                service.terminate()
                service.wait(timeout=60)


if __name__ == "__main__":
    main()
