"""`python -m bench` (`make bench`, `make bench QUICK=1`): every path users call, measured.

(a) the bare hello-world baseline; (b) product reads; (c) product lists; (d) checkout quotes,
partners at 50 ms and one carrier hanging; (e) order creation; (f) a read's latency idle and
while report jobs keep every worker busy; (g) a mixed load stepped up to the highest rate held
with p99 under 100 ms and no errors; (h) the resident memory of the stack idle and after (g);
then the telemetry suite (every telemetry configuration side by side, interleaved).

The stacks are the bench's own (ports +15000 and up, `bench_` databases, Redis database 5),
with telemetry at its defaults exporting to a local OTLP sink, and the gateway's rate limit
raised (see bench.stacks). Results go to bench/results/ (JSON and Markdown) and, unless
`--no-publish`, into bench/README.md's current table. Timing never decides a test: this is a
separate command.
"""

from __future__ import annotations

import argparse
import os
import signal

from bench import goodput, memory, mixed, paths
from bench.results import Row, Run, Target, write
from bench.stacks import base_env, otlp_sink, running
from bench.telemetry import Rounds, telemetry_suite

QUOTE_DEADLINE_MS = float(os.environ.get("QUOTE_DEADLINE_MS", "800"))


def _exit_on_sigterm(signum: int, _: object) -> None:
    raise SystemExit(128 + signum)


def _find(rows: list[Row], scenario: str, variant: str) -> Row | None:
    return next((r for r in rows if r.scenario == scenario and r.variant.startswith(variant)), None)


# What a path may cost: CPU per request of the service named, as a multiple of the hello
# world's in the same run.
ORDER = "gateway, one line, new key each"
COST_TARGETS = (
    ("(b) product reads", "gateway, telemetry default", "read", 1.6),
    ("(c) product lists", "gateway, 20 per page, a category", "list page", 4.0),
    ("(d) checkout quotes", "every partner 50 ms, 4 connections", "quote (checkout)", 25.0),
    ("(e) order creation", ORDER, "order (orders)", 25.0),
    ("(e) order creation", f"{ORDER}: catalog's reservation", "reservation (catalog)", 10.0),
)


def cost_targets(rows: list[Row]) -> list[Target]:
    hello = _find(rows, "(a) hello world", "")
    if hello is None or not hello.cpu_us:
        return []
    found = []
    for scenario, variant, name, limit in COST_TARGETS:
        row = next((r for r in rows if (r.scenario, r.variant) == (scenario, variant)), None)
        if row is None or row.cpu_us is None:
            continue
        ratio = row.cpu_us / hello.cpu_us
        found.append(
            Target(
                f"{name}: CPU per request / hello world's",
                f"at most {limit:g}",
                f"{ratio:.1f} ({row.cpu_us:.0f} / {hello.cpu_us:.0f} µs)",
                ratio <= limit,
            )
        )
    return found


def overload_targets(rows: list[Row], held: int | None, reports_missing: int = 0) -> list[Target]:
    """At twice the highest rate held: the admitted requests' p99 at most 250 ms, goodput at
    least 90% of the held rate, no error; then the held rate holds again, and every report
    accepted in either step was produced in time (nothing lost)."""
    over = next((r for r in rows if r.variant.startswith(mixed.OVERLOAD)), None)
    after = next((r for r in rows if r.variant.startswith(mixed.AFTER)), None)
    if held is None or over is None or after is None:
        return []
    return [
        Target(
            "(g) overload: admitted p99, goodput",
            "p99 at most 250 ms, goodput at least 90% of the held rate, no error",
            f"{over.p99_ms:.0f} ms, {over.rps:.0f}/s ({over.rps / held:.0%}), {over.errors} errors",
            over.p99_ms <= 250 and over.rps >= 0.9 * held and over.errors == 0,
        ),
        Target(
            "(g) after the overload",
            "the held rate holds again",
            f"p99 {after.p99_ms:.0f} ms, {after.errors} errors",
            after.errors == 0 and after.p99_ms < mixed.P99_LIMIT_MS,
        ),
        Target(
            "(g) overload: nothing lost",
            "every report accepted in the overload and after it produced within 120 s",
            f"{reports_missing} not produced in time",
            reports_missing == 0,
        ),
    ]


def targets(
    rows: list[Row], held: int | None, memory_mib: float | None, reports_missing: int = 0
) -> list[Target]:
    found = cost_targets(rows)
    hello = _find(rows, "(a) hello world", "")
    reads = _find(rows, "(b) product reads", "gateway")
    if hello and reads:
        ratio = reads.rps / hello.rps
        found.append(
            Target(
                "(b) / (a)",
                "at least 0.5",
                f"{ratio:.2f} ({reads.rps:.0f} / {hello.rps:.0f})",
                ratio >= 0.5,
            )
        )
    quotes = _find(rows, "(d) checkout quotes", "every partner")
    if quotes:
        limit = 1.3 * paths.PARTNER_LATENCY_MS + 10
        found.append(
            Target(
                "(d) median, partners at 50 ms",
                f"at most {limit:.0f} ms",
                f"{quotes.p50_ms:.1f} ms",
                quotes.p50_ms <= limit,
            )
        )
    hanging = _find(rows, "(d) checkout quotes", "carrier-swift hanging")
    if hanging:
        limit = QUOTE_DEADLINE_MS + 50
        all_partial = hanging.errors == 0 and hanging.note.startswith("0 complete")
        found.append(
            Target(
                "(d) p99, one carrier hanging",
                f"at most {limit:.0f} ms, every answer partial",
                f"{hanging.p99_ms:.0f} ms; {hanging.note}; {hanging.errors} errors",
                hanging.p99_ms <= limit and all_partial,
            )
        )
    idle = _find(rows, "(f) reads beside reports", "idle")
    busy = _find(rows, "(f) reads beside reports", "report workers busy")
    if idle and busy:
        found.append(
            Target(
                "(f) busy p99 / idle p99",
                "at most 2, zero errors",
                f"{busy.p99_ms / idle.p99_ms:.2f} ({busy.p99_ms:.1f} / {idle.p99_ms:.1f} ms), "
                f"{busy.errors} errors",
                busy.p99_ms <= 2 * idle.p99_ms and busy.errors == 0,
            )
        )
    found += overload_targets(rows, held, reports_missing)
    found.append(
        Target(
            "(g) highest rate held",
            "at least 1,000 requests/s",
            f"{held} requests/s" if held else "none held",
            held is not None and held >= 1000,
        )
    )
    if memory_mib is not None:
        found.append(
            Target(
                "(h) stack resident after (g)",
                "under 1,536 MiB (RSS)",
                f"{memory_mib:.0f} MiB",
                memory_mib < 1536,
            )
        )
    return found


def main() -> None:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so every `finally` stops its stack
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short loads, fewer steps and rounds")
    parser.add_argument(
        "--offset", type=int, default=int(os.environ.get("BENCH_PORT_OFFSET", "15000"))
    )
    parser.add_argument(
        "--suite", action="append", choices=["paths", "telemetry"], help="only these suites"
    )
    parser.add_argument("--no-publish", action="store_true", help="leave bench/README.md alone")
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=(os.cpu_count() or 1) >= 2,
        help="telemetry suite: wrk on CPU 0, the service under test on CPU 1",
    )
    args = parser.parse_args()
    suites = set(args.suite or ["paths", "telemetry"])
    load = paths.Load(seconds=5, connections=32, warmup=1) if args.quick else paths.Load(15, 32, 3)
    # Stepped up until a step fails (the quick run too), each step's rate well apart.
    rates = [100, 200, 400, 700, 1000, 1400, 2000, 2800]
    step_seconds = 10 if args.quick else 30
    plan = (
        Rounds(rounds=2, seconds=3, warmup=1, connections=32, pin=args.pin)
        if args.quick
        else Rounds(rounds=9, seconds=5, warmup=2, connections=32, pin=args.pin)
    )
    run = Run(quick=args.quick, command="make bench" + (" QUICK=1" if args.quick else ""))
    held: int | None = None
    reports_missing = 0
    after_mib: float | None = None
    workers = int(os.environ.get("WORKER_CONCURRENCY", "2"))
    with otlp_sink() as sink:
        if "paths" in suites:
            env = base_env(args.offset) | {"OTEL_EXPORTER_OTLP_ENDPOINT": sink}
            with running("paths", args.offset, env) as stack:
                run.memory["idle"] = memory.snapshot(stack)
                run.rows += paths.baseline_and_reads(stack, load, rounds=2 if args.quick else 3)
                run.rows += paths.product_reads(stack, load)
                run.rows += paths.catalog_servers(stack, load)
                run.rows.append(paths.product_lists(stack, load))
                run.rows += paths.quotes(stack, load)
                run.rows += paths.orders(stack, load)
                run.rows += paths.reads_while_reports_run(stack, load, workers)
                load_steps = mixed.mixed_load(stack, rates, step_seconds)
                held = load_steps.held
                reports_missing = load_steps.reports_missing
                run.rows += load_steps.rows
                run.pictures["goodput.svg"] = goodput.svg(
                    load_steps.points, "(g) mixed load: goodput against offered load"
                )
                run.memory["after the mixed load"] = after = memory.snapshot(stack)
                after_mib = sum(p.rss_kib for p in after) / 1024
        if "telemetry" in suites:
            run.rows += telemetry_suite(plan, args.offset + 1000, sink)
    if "paths" in suites:
        run.targets = targets(run.rows, held, after_mib, reports_missing)
    path = write(run, publish=not args.no_publish)
    print(f"\nwrote {path}\n")
    print((path.parent / "latest.md").read_text())


if __name__ == "__main__":
    main()
