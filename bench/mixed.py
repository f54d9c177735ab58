"""Scenario (g): the mixed load at a fixed arrival rate, stepped up until it no longer holds.

Each step runs Locust headless for a fixed time at `rate` users of one request per second
each (bench/locustfile.py), after Locust has spawned them all and reset its statistics. A
step holds when its p99 is under 100 ms and no request failed; the run stops at the first
step that does not hold and reports the highest that did.
"""

from __future__ import annotations

import csv
import math
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench import client
from bench.results import Row
from bench.stacks import ROOT, BenchStack
from bench.wrk import WrkResult

P99_LIMIT_MS = 100.0


@dataclass(frozen=True, slots=True)
class Step:
    rate: int
    result: WrkResult

    @property
    def held(self) -> bool:
        return self.result.errors == 0 and self.result.p99_ms < P99_LIMIT_MS


def _number(row: dict[str, str], key: str) -> float:
    value = row.get(key, "")
    return float(value) if value not in ("", "N/A") else math.nan


def _aggregated(stats_csv: Path) -> WrkResult:
    with stats_csv.open(newline="") as file:
        for row in csv.DictReader(file):
            if row["Name"] == "Aggregated":
                return WrkResult(
                    requests_per_second=_number(row, "Requests/s"),
                    p50_ms=_number(row, "50%"),
                    p90_ms=_number(row, "90%"),
                    p99_ms=_number(row, "99%"),
                    requests=int(_number(row, "Request Count")),
                    errors=int(_number(row, "Failure Count")),
                )
    msg = f"no Aggregated row in {stats_csv}"
    raise ValueError(msg)


def run_step(stack: BenchStack, rate: int, seconds: int, env: dict[str, str]) -> Step:
    with tempfile.TemporaryDirectory() as directory:
        prefix = Path(directory) / "step"
        subprocess.run(  # noqa: S603 - fixed argv: locust of this environment
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(ROOT / "bench" / "locustfile.py"),
                "--headless",
                "--only-summary",
                "--host",
                stack.gateway,
                "-u",
                str(rate),
                "-r",
                str(max(rate // 2, 1)),
                "--reset-stats",
                "--run-time",
                f"{seconds}s",
                "--stop-timeout",
                "10",
                "--csv",
                str(prefix),
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env=env,
            check=False,  # Locust exits 1 when a request failed: that is a finding, not a crash
            stdout=subprocess.DEVNULL,
            timeout=seconds + 90,
        )
        return Step(rate, _aggregated(Path(f"{prefix}_stats.csv")))


def mixed_load(stack: BenchStack, rates: list[int], seconds: int) -> tuple[list[Row], int | None]:
    admin = client.admin_token(stack.gateway)
    client.restock(stack.gateway, admin, 1000, 1_000_000)
    env = dict(stack.env) | {
        "MERCATO_TOKEN": client.customer_token(stack.gateway),
        "MERCATO_ADMIN_TOKEN": admin,
    }
    rows: list[Row] = []
    held: int | None = None
    for rate in rates:
        step = run_step(stack, rate, seconds, env)
        print(
            f"   mixed load at {rate}/s: {step.result.requests_per_second:.0f} req/s, "
            f"p99 {step.result.p99_ms:.0f} ms, {step.result.errors} failed",
            flush=True,
        )
        rows.append(
            Row.of(
                "(g) mixed load",
                f"{rate} requests/s offered",
                step.result,
                note="held" if step.held else "not held",
            )
        )
        if not step.held:
            break
        held = rate
    return rows, held
