"""Run wrk and read its report (requests/s, latency percentiles, errors, script counters)."""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_PERCENTILE = re.compile(r"^\s+(50|90|99)(?:\.000)?%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_TOTAL = re.compile(r"(\d+) requests in")
# A script's done() may print one line of counters: `MERCATO {"partial": 12, ...}`.
_COUNTERS = re.compile(r"^MERCATO (\{.*\})\s*$", re.MULTILINE)
SCRIPTS = Path(__file__).resolve().parent / "scripts"


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    requests: int
    errors: int
    counters: dict[str, int] = field(default_factory=dict)


def median(results: Sequence[WrkResult]) -> WrkResult:
    """The median of each figure over rounds of one load; requests and errors are totals."""
    return WrkResult(
        requests_per_second=statistics.median(r.requests_per_second for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p90_ms=statistics.median(r.p90_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        requests=sum(r.requests for r in results),
        errors=sum(r.errors for r in results),
    )


def parse(output: str) -> WrkResult:
    rps = _RPS.search(output)
    if rps is None:
        msg = f"wrk printed no Requests/sec line:\n{output}"
        raise ValueError(msg)
    percentiles = {p: float(v) * _UNITS[u] for p, v, u in _PERCENTILE.findall(output)}
    errors = sum(int(n) for n in _NON_2XX.findall(output))
    socket = _SOCKET_ERRORS.search(output)
    if socket is not None:
        errors += sum(int(n) for n in socket.groups())
    total = _TOTAL.search(output)
    counters = _COUNTERS.search(output)
    return WrkResult(
        requests_per_second=float(rps.group(1)),
        p50_ms=percentiles.get("50", float("nan")),
        p90_ms=percentiles.get("90", float("nan")),
        p99_ms=percentiles.get("99", float("nan")),
        requests=int(total.group(1)) if total else 0,
        errors=errors,
        counters={k: int(v) for k, v in json.loads(counters.group(1)).items()} if counters else {},
    )


def run(
    url: str,
    *,
    seconds: int,
    threads: int,
    connections: int,
    script: str | None = None,
    cpu: int | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float = 5,
) -> WrkResult:
    """One wrk run; `script` names a Lua file in bench/scripts; `cpu` keeps wrk on that CPU.

    `env` reaches the script through os.getenv (bodies, tokens, id ranges).
    """
    binary = shutil.which("wrk")
    if binary is None:
        msg = "wrk is not installed (apt-get install wrk)"
        raise SystemExit(msg)
    argv = [
        binary,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={timeout_s:g}s",
        "--latency",
    ]
    if cpu is not None:
        taskset = shutil.which("taskset")
        if taskset is None:
            msg = "taskset is not installed (util-linux)"
            raise SystemExit(msg)
        argv = [taskset, "-c", str(cpu), *argv]
    if script is not None:
        argv += ["-s", str(SCRIPTS / script)]
    result = subprocess.run(  # noqa: S603 - argv is wrk and our own options
        [*argv, url],
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds + 60,
        env=env,
    )
    if result.returncode != 0:
        msg = f"wrk failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}"
        raise RuntimeError(msg)
    return parse(result.stdout)
