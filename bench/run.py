"""The benchmark harness: one native stack per telemetry configuration, measured interleaved.

For each configuration in `bench.scenarios.CONFIGS` it starts a native stack of its own
(ports shifted by `BENCH_PORT_OFFSET`, default 15000, plus 1000 per configuration; databases
prefixed `bench_`; Redis database 5), warms each scenario up on each, then runs rounds: in
every round each scenario runs under wrk against each configuration in turn, a different
configuration first in each round. With two CPUs or more (`--pin`, the default) wrk runs on
CPU 0 and the service under test on CPU 1, so neither takes the other's core. It prints one
table with the medians over the rounds of requests/s, p50/p99 latency and the service's CPU
time per request, each against the baseline configuration (the first one) measured in the
same rounds. The table also goes to `bench/results/latest.md`.

Telemetry exports to an OTLP sink started by the harness (`devtools.otlp_receiver
--discard`: it answers 200 without decoding, so it costs less than a real collector would).

Timing never decides a test; this is a separate command. On a shared machine, run it when
the machine is otherwise idle and compare ratios, not absolute figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import topology
from bench import wrk
from bench.scenarios import CONFIGS, SCENARIOS, Scenario, TelemetryConfig
from mercato_shared.telemetry.hooks import ACCELERATOR_VARIABLE
from native.stack import load_stack

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
STACK = topology.load()
# With --pin: wrk on one CPU, the service under test on another (everything else floats).
WRK_CPU = 0
SERVICE_CPU = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def base_env(offset: int) -> dict[str, str]:
    """The parent environment without explicit ports or telemetry settings, plus the bench slot."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("_PORT") and not key.startswith("OTEL_") and key != ACCELERATOR_VARIABLE
    }
    env.update(
        {
            "MERCATO_PORT_OFFSET": str(offset),
            "MERCATO_RUN_DIR": str(ROOT / ".run" / f"bench-{offset}"),
            "DATABASE_PREFIX": os.environ.get("BENCH_DATABASE_PREFIX", "bench_"),
            "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"),
            "ENVIRONMENT": "test",
            "LOG_LEVEL": "WARNING",
            "GATEWAY_RATE_LIMIT": "1000000",
            "GATEWAY_RATE_BURST": "1000000",
        }
    )
    return env


def config_env(config: TelemetryConfig, base: dict[str, str], sink: str) -> dict[str, str]:
    env = dict(base)
    if config.exports:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink
    env.update(config.env)
    return env


def native(command: str, env: dict[str, str]) -> None:
    subprocess.run(  # noqa: S603 - fixed argv: this interpreter, a module of the repo
        [sys.executable, "-m", "native", command],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


@contextmanager
def otlp_sink() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - fixed argv: this interpreter, a repo module
        [sys.executable, "-m", "devtools.otlp_receiver", "--port", str(port), "--discard"],
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def service_pid(service: str, env: dict[str, str]) -> int | None:
    """The pid supervisord gives for the service's (first) program (one uvicorn worker)."""
    program = load_stack(env).replicas(STACK.service(service))[0].program
    conf = Path(env["MERCATO_RUN_DIR"]) / "supervisord.conf"
    result = subprocess.run(  # noqa: S603 - fixed argv: supervisorctl of this environment
        [str(Path(sys.executable).parent / "supervisorctl"), "-c", str(conf), "pid", program],
        capture_output=True,
        text=True,
        check=False,
    )
    pid = result.stdout.strip()
    return int(pid) if pid.isdigit() and pid != "0" else None


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time the process has used so far (0 when unknown)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def pin(pid: int | None, cpu: int) -> None:
    """Keep every thread of `pid` on `cpu` (threads it starts later inherit it)."""
    if pid is None:
        return
    for task in Path(f"/proc/{pid}/task").iterdir():
        with suppress(OSError):  # a thread that has just ended
            os.sched_setaffinity(int(task.name), {cpu})


def url_of(scenario: Scenario, offset: int) -> str:
    if scenario.target == "gateway":
        gateway = STACK.gateway.port + offset
        return (
            f"http://127.0.0.1:{gateway}{STACK.service(scenario.service).root_path}{scenario.path}"
        )
    return f"http://127.0.0.1:{STACK.service(scenario.service).port + offset}{scenario.path}"


Row = tuple[Scenario, TelemetryConfig, wrk.WrkResult, float]


@dataclass(frozen=True, slots=True)
class RunningStack:
    config: TelemetryConfig
    offset: int
    env: dict[str, str]


def median_result(results: Sequence[wrk.WrkResult]) -> wrk.WrkResult:
    """The median of each figure over the rounds; requests and errors are totals."""
    return wrk.WrkResult(
        requests_per_second=statistics.median(r.requests_per_second for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        requests=sum(r.requests for r in results),
        errors=sum(r.errors for r in results),
    )


def start_stacks(configs: Sequence[TelemetryConfig], offset: int, sink: str) -> list[RunningStack]:
    """One stack per configuration, side by side (offsets `offset`, `offset + 1000`, ...).

    Started one after another: they share the `bench_` databases, which the first one
    migrates and seeds. A fresh supervisord each: its programs inherit its environment.
    """
    stacks = []
    for index, config in enumerate(configs):
        stack_offset = offset + 1000 * index
        base = base_env(stack_offset)
        native("down", base)
        env = config_env(config, base, sink)
        print(f"== {config.name}: starting a stack at port offset {stack_offset}", flush=True)
        native("up", env)
        stacks.append(RunningStack(config, stack_offset, env))
    return stacks


def measure(args: argparse.Namespace, configs: Sequence[TelemetryConfig]) -> list[Row]:
    """Interleave: every round runs each scenario against each configuration's stack in turn.

    Drift of the machine (other work, CPU frequency, a neighbour on the host) then lands on
    every configuration alike, and the medians over the rounds are compared.
    """
    scenarios = [s for s in SCENARIOS if not args.scenario or s.name in args.scenario]
    results: dict[tuple[str, str], list[wrk.WrkResult]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    with otlp_sink() as sink:
        stacks: list[RunningStack] = []
        try:
            stacks = start_stacks(configs, args.offset, sink)
            for scenario in scenarios:
                for stack in stacks:
                    url = url_of(scenario, stack.offset)
                    wrk.run(
                        url,
                        seconds=args.warmup,
                        threads=args.threads,
                        connections=args.connections,
                        script=script_of(scenario),
                    )
            for round_number in range(1, args.rounds + 1):
                print(f"== round {round_number}/{args.rounds}", flush=True)
                # Each configuration goes first in turn: no position in a round favours one.
                turn = (round_number - 1) % len(stacks)
                for scenario in scenarios:
                    for stack in stacks[turn:] + stacks[:turn]:
                        key = (scenario.name, stack.config.name)
                        result, cpu_us = measure_once(args, scenario, stack)
                        results.setdefault(key, []).append(result)
                        cpu.setdefault(key, []).append(cpu_us)
        finally:
            for stack in stacks:
                native("down", base_env(stack.offset))
    return [
        (
            scenario,
            stack.config,
            median_result(results[(scenario.name, stack.config.name)]),
            statistics.median(cpu[(scenario.name, stack.config.name)]),
        )
        for scenario in scenarios
        for stack in stacks
    ]


def measure_once(
    args: argparse.Namespace, scenario: Scenario, stack: RunningStack
) -> tuple[wrk.WrkResult, float]:
    """One wrk run of `scenario` on `stack`, and the service's CPU microseconds per request."""
    pid = service_pid(scenario.service, stack.env)
    if args.pin:
        pin(pid, SERVICE_CPU)
    before = cpu_seconds(pid)
    result = wrk.run(
        url_of(scenario, stack.offset),
        seconds=args.seconds,
        threads=args.threads,
        connections=args.connections,
        script=script_of(scenario),
        cpu=WRK_CPU if args.pin else None,
    )
    cpu_us = (cpu_seconds(pid) - before) / max(result.requests, 1) * 1e6
    print(
        f"   {scenario.name} / {stack.config.name}: "
        f"{result.requests_per_second:.0f} req/s, {cpu_us:.0f} us CPU/request",
        flush=True,
    )
    return result, cpu_us


def script_of(scenario: Scenario) -> Path | None:
    return ROOT / "bench" / "scripts" / scenario.script if scenario.script else None


def table(rows: Sequence[Row], baseline: str) -> str:
    """req/s and its ratio to the baseline; CPU per request of the service and its ratio.

    On a busy machine the CPU ratio is the steadier figure: throughput moves with whatever
    else runs, the CPU one request costs the service much less.
    """
    base = {s.name: (r.requests_per_second, cpu) for s, c, r, cpu in rows if c.name == baseline}
    lines = [
        f"| scenario | telemetry | req/s | vs {baseline} | p50 ms | p99 ms "
        f"| service CPU us/req | CPU vs {baseline} | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario, config, result, cpu in rows:
        ref_rps, ref_cpu = base.get(scenario.name, (0.0, 0.0))
        ratio = f"{result.requests_per_second / ref_rps:.0%}" if ref_rps else "n/a"
        cpu_ratio = f"{cpu / ref_cpu:.2f}x" if ref_cpu else "n/a"
        lines.append(
            f"| {scenario.name} | {config.name} | {result.requests_per_second:.0f} | {ratio} | "
            f"{result.p50_ms:.2f} | {result.p99_ms:.2f} | {cpu:.0f} | {cpu_ratio} | "
            f"{result.errors} |"
        )
    return "\n".join(lines)


def _exit_on_sigterm(signum: int, _: object) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so `finally` stops the stack
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--offset", type=int, default=int(os.environ.get("BENCH_PORT_OFFSET", "15000"))
    )
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration of one run")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds (medians)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per scenario")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=(os.cpu_count() or 1) >= 2,
        help="wrk on CPU 0, the service under test on CPU 1 (default with 2+ CPUs)",
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--config", action="append", help="only these configurations")
    parser.add_argument("--scenario", action="append", help="only these scenarios")
    args = parser.parse_args()
    configs = [c for c in CONFIGS if not args.config or c.name in args.config]
    rows = measure(args, configs)
    header = (
        f"# make bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\n"
        f"{platform.node()}: {os.cpu_count()} CPUs, one uvicorn worker per service, "
        f"one stack per configuration side by side; medians of {args.rounds} interleaved "
        f"rounds of wrk -t{args.threads} -c{args.connections} -d{args.seconds}s "
        f"(after a {args.warmup} s warm-up); "
        + ("wrk on CPU 0, the service on CPU 1" if args.pin else "nothing pinned")
        + "\n\n"
    )
    report = header + table(rows, configs[0].name) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.md").write_text(report)
    print("\n" + report)
