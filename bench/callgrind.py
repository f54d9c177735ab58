"""Instructions per product read under each telemetry configuration, counted with callgrind.

`uv run python -m bench.callgrind` runs the catalog service under `valgrind --tool=callgrind`
(uvicorn, one worker, the bench's databases and Redis database, telemetry to the bench's OTLP
sink), sends it 400 product reads to warm up, switches counting on (`callgrind_control -i
on`), sends 1,000 more over one keep-alive connection, and reports the instructions per
request of each thread of the service. wrk's timings move by 10-30% between identical runs
on a shared VM; repeated instruction counts agreed to within 0.2% (telemetry off) and 1%
(the default, which moves with which requests are sampled), so this is the measure for
changes too small for `make bench` to tell apart.

Limits: callgrind counts user-space instructions, not time (no system calls, no cache
misses), and the service runs about 18 times slower under it, so work done on a timer (the
metric export every 15 s, the span batch every 5 s) is over-represented in the threads other
than the main one. Needs valgrind (Debian's package).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.scenarios import CONFIGS, TelemetryConfig
from bench.stacks import ROOT, base_env, otlp_sink
from bench.telemetry import config_env
from devtools.ports import free_port

WARMUP = 400
COUNTED = 1_000
PATH = "/products/7"


def send_reads(port: int, count: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        for _ in range(count):
            connection.request("GET", PATH)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {PATH} answered {response.status}")
    finally:
        connection.close()


def wait_ready(port: int, deadline_seconds: float = 300) -> None:
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            send_reads(port, 1)
            return
        except (OSError, RuntimeError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def prepare_catalog(env: dict[str, str]) -> None:
    """The catalog's bench database, migrated and seeded as `make bench` leaves it."""
    for module in (("catalog.migrate",), ("catalog.seed", "--count", "1000")):
        subprocess.run(  # noqa: S603 - fixed argv: this interpreter, a module of the repo
            [sys.executable, "-m", *module], cwd=ROOT, env=env, check=True
        )


def callgrind_control(pid: int, *args: str) -> None:
    # Fixed argv: valgrind's control tool, found on PATH as `main` checked.
    command = ["callgrind_control", *args, str(pid)]
    subprocess.run(command, check=True, capture_output=True)  # noqa: S603


def thread_totals(out_dir: Path) -> dict[int, int]:
    """Instructions per thread (callgrind's `-NN` file suffix) of the dump after counting."""
    totals: dict[int, int] = {}
    for dump in out_dir.glob("callgrind.out.*.1-*"):
        thread = int(dump.name.rsplit("-", 1)[1])
        match = re.search(r"^totals: (\d+)", dump.read_text(), re.MULTILINE)
        totals[thread] = int(match.group(1)) if match else 0
    return dict(sorted(totals.items()))


def count(config: TelemetryConfig, base: dict[str, str], sink: str) -> dict[int, int]:
    port = free_port()
    # A fixed hash seed: string hashing decides dict layouts, which moved counts by about 1%.
    env = config_env(config, base, sink) | {"OTEL_SERVICE_NAME": "catalog", "PYTHONHASHSEED": "0"}
    with tempfile.TemporaryDirectory(prefix="mercato-callgrind-") as tmp:
        out_dir = Path(tmp)
        argv = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            "--separate-threads=yes",
            f"--callgrind-out-file={out_dir}/callgrind.out.%p",
            sys.executable,
            "-m",
            "uvicorn",
            "catalog.main:create_app",
            "--factory",
            "--port",
            str(port),
            "--workers",
            "1",
            "--no-access-log",
        ]
        service = subprocess.Popen(  # noqa: S603 - fixed argv: valgrind, this interpreter
            argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_ready(port)
            send_reads(port, WARMUP)
            callgrind_control(service.pid, "-i", "on")
            send_reads(port, COUNTED)
            callgrind_control(service.pid, "-i", "off")
            callgrind_control(service.pid, "-d")  # dump the counts
        finally:
            service.terminate()
            service.wait(timeout=60)
        return thread_totals(out_dir)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.callgrind", description=__doc__)
    names = [config.name for config in CONFIGS]
    parser.add_argument("--config", action="append", choices=names, help="repeatable")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    configs = [c for c in CONFIGS if c.name in (args.config or names)]
    base = base_env(int(os.environ.get("BENCH_PORT_OFFSET", "15000")))
    prepare_catalog(base)
    baseline: int | None = None
    with otlp_sink() as sink:
        for config in configs:
            totals = {
                thread: total / COUNTED for thread, total in count(config, base, sink).items()
            }
            total = sum(totals.values())
            baseline = baseline or int(total)
            threads = ", ".join(f"thread {t}: {n / 1000:,.0f}k" for t, n in totals.items() if n)
            print(
                f"{config.name:16s} {total / 1e6:.3f} million instructions per request "
                f"({total / baseline - 1:+.1%} vs {configs[0].name}; {threads})",
                flush=True,
            )


if __name__ == "__main__":
    main()
