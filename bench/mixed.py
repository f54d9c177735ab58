"""Scenario (g): the mixed load at a fixed arrival rate, stepped up until it no longer holds.

Each step runs Locust headless for a fixed time at `rate` users of one request per second
each (bench/locustfile.py), after Locust has spawned them all and reset its statistics. A
step holds when its p99 is under 100 ms, no request failed and every report accepted during it
succeeded within two minutes of its end (bench/report_jobs.py); the run stops at the first
step that does not hold and reports the highest that did. Each step also reports the cores
every program of the stack used and Locust's own CPU per request.

Then overload: a step at twice the highest rate held, where the gateway's admission control
must shed the excess fast (503/429 with Retry-After) while the admitted requests keep their
latency, and a step at the held rate again, which must hold.
"""

from __future__ import annotations

import csv
import math
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import client, procs
from bench.goodput import Point
from bench.report_jobs import ReportOutcome, report_outcome
from bench.results import Row
from bench.stacks import ROOT, BenchStack
from bench.wrk import WrkResult

P99_LIMIT_MS = 100.0
SCENARIO = "(g) mixed load"
OVERLOAD = "overload: "
AFTER = "after the overload: "
# Arrivals one Locust process offers on this kind of machine before its own CPU is the limit
# (FastHttpUser on gevent); a higher step runs Locust with `--processes`.
LOCUST_RATE_PER_PROCESS = 600
# Locust's own start (imports, users spawned at rate/2 a second) before its timer's steady part.
STARTUP_SECONDS = 2
SETTLE_SECONDS = 5


@dataclass(frozen=True, slots=True)
class Step:
    rate: int
    result: WrkResult
    # Each request name's figures (the overload step's `admitted` and `shed`).
    named: dict[str, WrkResult]
    # Cores each program of the stack used over the step (replicas summed), busiest first.
    cores: dict[str, float]
    # The load generator's own CPU per request it sent.
    locust_us: float
    # The reports accepted during the step and how many were produced in time.
    reports: ReportOutcome

    @property
    def held(self) -> bool:
        return self.result.errors == 0 and self.result.p99_ms < P99_LIMIT_MS and self.reports.held


def _number(row: dict[str, str], key: str) -> float:
    value = row.get(key, "")
    return float(value) if value not in ("", "N/A") else math.nan


def _named(stats_csv: Path) -> dict[str, WrkResult]:
    """Each row of Locust's stats file by name (`Aggregated` is every request)."""
    with stats_csv.open(newline="") as file:
        rows = {
            row["Name"]: WrkResult(
                requests_per_second=_number(row, "Requests/s"),
                p50_ms=_number(row, "50%"),
                p90_ms=_number(row, "90%"),
                p99_ms=_number(row, "99%"),
                requests=int(_number(row, "Request Count")),
                errors=int(_number(row, "Failure Count")),
            )
            for row in csv.DictReader(file)
        }
    if "Aggregated" not in rows:
        msg = f"no Aggregated row in {stats_csv}"
        raise ValueError(msg)
    return rows


def goodput(result: WrkResult) -> float:
    """Successful answers per second."""
    if result.requests == 0:
        return 0.0
    return result.requests_per_second * (1 - result.errors / result.requests)


def _programs(stack: BenchStack) -> dict[str, list[int]]:
    """Each program's processes, replicas under the service's name (catalog-1 -> catalog)."""
    found: dict[str, list[int]] = {}
    for program in stack.programs():
        name = re.sub(r"-\d+$", "", program)
        found.setdefault(name, []).extend(stack.program_pids(program))
    return found


def run_step(stack: BenchStack, rate: int, seconds: int, env: dict[str, str]) -> Step:
    """One step; the CPU figures are read over its steady part (after Locust has started and
    spawned every user, before it stops)."""
    programs = _programs(stack)
    processes = max(1, math.ceil(rate / LOCUST_RATE_PER_PROCESS))
    window = max(seconds + STARTUP_SECONDS - SETTLE_SECONDS - 1, 1)
    started = time.time()
    with tempfile.TemporaryDirectory() as directory:
        prefix = Path(directory) / "step"
        locust = subprocess.Popen(  # noqa: S603 - fixed argv: locust of this environment
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
                *(["--processes", str(processes)] if processes > 1 else []),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        try:
            time.sleep(SETTLE_SECONDS)
            before = {name: procs.cpu_seconds(pids) for name, pids in programs.items()}
            locust_before = procs.cpu_seconds(procs.tree(locust.pid))
            time.sleep(window)
            cores = {
                name: (procs.cpu_seconds(pids) - before[name]) / window
                for name, pids in programs.items()
            }
            locust_cpu = procs.cpu_seconds(procs.tree(locust.pid)) - locust_before
            # Locust exits 1 when a request failed: that is a finding, not a crash.
            locust.wait(timeout=seconds + 90)
        finally:
            if locust.poll() is None:
                locust.kill()
                locust.wait()
        named = _named(Path(f"{prefix}_stats.csv"))
    reports = report_outcome(env, started, time.time())
    result = named["Aggregated"]
    sent = result.requests_per_second * window
    busiest = dict(sorted(cores.items(), key=lambda item: -item[1]))
    return Step(rate, result, named, busiest, locust_cpu / max(sent, 1) * 1e6, reports)


def describe_usage(step: Step) -> str:
    busy = ", ".join(f"{name} {cores:.2f}" for name, cores in step.cores.items() if cores >= 0.01)
    return f"{step.reports.describe()}; cores: {busy}; Locust {step.locust_us:.0f} µs/request"


@dataclass(frozen=True, slots=True)
class MixedLoad:
    rows: list[Row]
    held: int | None
    points: list[Point]
    # Reports accepted in the overload step or the one after it that were not produced in time.
    reports_missing: int = 0


def mixed_load(stack: BenchStack, rates: list[int], seconds: int) -> MixedLoad:
    """The steps up to the first that does not hold; then, past the highest held, a step at
    twice that rate (overload: the excess must be shed fast) and one at the held rate again
    (it must hold once the overload is over)."""
    admin = client.admin_token(stack.gateway)
    client.restock(stack.gateway, admin, 1000, 1_000_000)
    env = dict(stack.env) | {
        "MERCATO_TOKEN": client.customer_token(stack.gateway),
        "MERCATO_ADMIN_TOKEN": admin,
    }
    rows: list[Row] = []
    points: list[Point] = []
    held: int | None = None
    for rate in rates:
        step = run_step(stack, rate, seconds, env)
        _say(f"{rate}/s", step.result)
        rows.append(
            Row.of(
                SCENARIO,
                f"{rate} requests/s offered",
                step.result,
                note=("held" if step.held else "not held") + "; " + describe_usage(step),
            )
        )
        points.append(Point(rate, goodput(step.result), f"{rate}"))
        if not step.held:
            break
        held = rate
    if held is None:
        return MixedLoad(rows, held, points)
    overload_rows, missing = _overload(stack, held, seconds, env, points)
    return MixedLoad(rows + overload_rows, held, points, missing)


def _overload(
    stack: BenchStack, held: int, seconds: int, env: dict[str, str], points: list[Point]
) -> tuple[list[Row], int]:
    rate = 2 * held
    step = run_step(stack, rate, seconds, env | {"MERCATO_OVERLOAD": "1"})
    admitted = step.named.get("admitted", step.result)
    shed = step.named.get("shed")
    shed_rate = shed.requests_per_second if shed is not None else 0.0
    served = goodput(admitted)
    _say(f"{rate}/s (overload)", admitted)
    points.append(Point(rate, served, f"{rate} (overload)"))
    after = run_step(stack, held, seconds, env)
    _say(f"{held}/s (after the overload)", after.result)
    missing = sum(s.reports.accepted - s.reports.in_time for s in (step, after))
    rows = [
        Row(
            SCENARIO,
            f"{OVERLOAD}{rate} requests/s offered",
            served,
            admitted.p50_ms,
            admitted.p90_ms,
            admitted.p99_ms,
            admitted.requests,
            admitted.errors,
            note=(
                f"goodput {served:.0f}/s ({served / held:.0%} of {held}/s held), latency of "
                f"the admitted; {shed_rate:.0f}/s shed (503/429 with Retry-After); "
                + describe_usage(step)
            ),
        ),
        Row.of(
            SCENARIO,
            f"{AFTER}{held} requests/s offered",
            after.result,
            note=("held" if after.held else "not held") + "; " + describe_usage(after),
        ),
    ]
    return rows, missing


def _say(what: str, result: WrkResult) -> None:
    print(
        f"   mixed load at {what}: {result.requests_per_second:.0f} req/s, "
        f"p99 {result.p99_ms:.0f} ms, {result.errors} failed",
        flush=True,
    )
