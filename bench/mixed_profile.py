"""`python -m bench.mixed_profile --rate 400`: where the mixed load's CPU goes, program by program.

It starts a stack as `make bench` does (its own ports, databases and Redis database), reads
every product once and runs a short step at a quarter of the rate (a running shop's caches
and pools are warm), then runs one step of scenario (g) at `--rate` (bench/locustfile.py
through the gateway) and records every program of the stack with py-spy over the step's
steady part, without pausing them (`--nonblocking`): one flame graph per program,
`bench/results/mixed-<program>.svg`, and the cores each program used, printed busiest first.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import threading
import time

from bench import client, mixed, py_spy
from bench.results import RESULTS
from bench.stacks import BenchStack, base_env, otlp_sink, running

# The programs worth a flame graph (nginx and supervisord are not Python).
PROFILED = ("catalog", "checkout", "orders", "partners", "identity", "reports", "worker")


def _record(stack: BenchStack, seconds: int) -> list[subprocess.Popen[bytes]]:
    """py-spy on the first process of every profiled program (with its children)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    recorders = []
    for program in stack.programs():
        name = re.sub(r"-\d+$", "", program)
        pids = stack.program_pids(program)
        if name not in PROFILED or not pids:
            continue
        recorders.append(
            subprocess.Popen(  # noqa: S603 - fixed argv: py-spy of this environment
                py_spy.record(
                    pids[0],
                    RESULTS / f"mixed-{program}.svg",
                    seconds=seconds,
                    rate=100,
                    children=name == "worker",
                ),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return recorders


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.mixed_profile", description=__doc__)
    parser.add_argument("--rate", type=int, default=400, help="requests/s offered")
    parser.add_argument("--seconds", type=int, default=30, help="the step's length")
    parser.add_argument("--offset", type=int, default=17000, help="the stack's port offset")
    parser.add_argument(
        "--overload", action="store_true", help="count shed answers apart (as the overload step)"
    )
    parser.add_argument(
        "--no-record",
        dest="record",
        action="store_false",
        help="no py-spy: the step's figures alone (py-spy's own CPU is taken from the stack's)",
    )
    args = parser.parse_args()
    if args.record:
        py_spy.executable()  # before the stack starts: a missing py-spy stops here
    with otlp_sink() as sink:
        env = base_env(args.offset) | {"OTEL_EXPORTER_OTLP_ENDPOINT": sink}
        with running("mixed-profile", args.offset, env) as stack:
            admin = client.admin_token(stack.gateway)
            client.restock(stack.gateway, admin, 1000, 1_000_000)
            client.warm_reads(stack.gateway, 1000)  # as a running shop's caches are
            load_env = (
                dict(stack.env)
                | {
                    "MERCATO_TOKEN": client.customer_token(stack.gateway),
                    "MERCATO_ADMIN_TOKEN": admin,
                }
                | ({"MERCATO_OVERLOAD": "1"} if args.overload else {})
            )
            # A quarter of the rate first: pools and keep-alive connections open as in a
            # running shop, not all at once under the full load.
            mixed.run_step(stack, max(args.rate // 4, 1), 10, load_env)
            window = max(args.seconds - mixed.SETTLE_SECONDS, 1)
            recorders: list[subprocess.Popen[bytes]] = []

            def record_after_settling() -> None:
                time.sleep(mixed.SETTLE_SECONDS)
                if args.record:
                    recorders.extend(_record(stack, window))

            recording = threading.Thread(target=record_after_settling)
            recording.start()
            step = mixed.run_step(stack, args.rate, args.seconds, load_env)
            recording.join()
            for recorder in recorders:
                recorder.wait(timeout=60)
    result = step.result
    print(
        f"{args.rate}/s offered: {result.requests_per_second:.0f}/s served, "
        f"p99 {result.p99_ms:.0f} ms, {result.errors} failed; {mixed.describe_usage(step)}"
    )
    for name, named in sorted(step.named.items()):
        print(f"  {name}: {named.requests_per_second:.0f}/s, p99 {named.p99_ms:.0f} ms")
    if args.record:
        print(f"flame graphs: {RESULTS}/mixed-*.svg")


if __name__ == "__main__":
    main()
