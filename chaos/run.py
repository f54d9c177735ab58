"""`make chaos`: faults injected into a stack of its own under a steady mixed load.

It starts its own Postgres (a throwaway initdb cluster) and its own redis-server on free
loopback ports, a native stack on them (its own run directory and port offset), then runs
the workload (`chaos.workload`) while `chaos.faults.schedule` breaks one thing after another.
After the load it checks the invariants against the ledger and the databases, prints the
fault table, stops everything it started and exits non-zero on any broken invariant.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import jwt

from chaos.abandoned import SWEEP_SECONDS, TTL_SECONDS, Abandoned, abandon, released
from chaos.faults import Fault, Target, schedule
from chaos.ledger import Answer, Ledger
from chaos.servers import OwnPostgres, OwnRedis
from chaos.workload import Workload, open_shop

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "chaos_"
STOCK = 100_000
AROUND = 5.0  # seconds before a fault that count as "before"
GETS = frozenset({"read", "list"})  # the workload's operations nginx may send again


@dataclass
class Injected:
    fault: Fault
    at: float
    did: str


@dataclass
class Outcome:
    injected: list[Injected] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ended: float = 0.0


def stack_env(postgres: OwnPostgres, redis: OwnRedis, offset: int, replicas: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.endswith("_PORT")}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    return env | {
        "MERCATO_RUN_DIR": str(ROOT / ".run" / f"chaos-{offset}"),
        "MERCATO_PORT_OFFSET": str(offset),
        "MERCATO_REPLICAS": str(replicas),
        "POSTGRES_URL": postgres.url,
        "REDIS_URL": redis.url,
        "DATABASE_PREFIX": PREFIX,
        "ENVIRONMENT": "test",
        "OTEL_SDK_DISABLED": "true",
        "GATEWAY_RATE_LIMIT": "2000",
        "GATEWAY_RATE_BURST": "4000",
        "SWEEP_INTERVAL_SECONDS": "2",
        "SWEEP_QUEUED_AFTER_SECONDS": "10",
        "REPORT_LEASE_SECONDS": "6",
        "IDEMPOTENCY_LEASE_SECONDS": "5",
        "RESERVATION_TTL_SECONDS": str(TTL_SECONDS),
        "RESERVATION_SWEEP_SECONDS": str(SWEEP_SECONDS),
    }


def native(command: str, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "native", command], cwd=ROOT, env=env, check=True, timeout=900
    )


def is_error(answer: Answer) -> bool:
    return answer.status == 0 or answer.status >= 500


async def inject_all(faults: Sequence[Fault], spacing: float, outcome: Outcome) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    for n, fault in enumerate(faults, start=1):
        await asyncio.sleep(max(0.0, start + n * spacing - loop.time()))
        at = time.monotonic()
        try:
            did = await asyncio.to_thread(fault.inject)
        except Exception as exc:  # a fault that could not be injected is reported, not fatal
            outcome.broken.append(f"could not inject {fault.name}: {exc!r}")
            continue
        print(f"chaos: {time.strftime('%H:%M:%S')} {did}", flush=True)
        outcome.injected.append(Injected(fault, at, did))
        if fault.heal is not None:
            await asyncio.sleep(fault.lasts)
            await asyncio.to_thread(fault.heal)


async def settle_reports(conn: asyncpg.Connection, ids: list[str], within: float) -> list[str]:
    """Wait (bounded) until every accepted job finished; the broken ones, described."""
    deadline = time.monotonic() + within
    while True:
        rows = await conn.fetch(
            "SELECT j.id::text AS id, j.status, "
            "(SELECT count(*) FROM report_results r WHERE r.job_id = j.id) AS results "
            "FROM report_jobs j WHERE j.id = ANY($1::uuid[])",
            ids,
        )
        found = {row["id"]: row for row in rows}
        bad = [
            f"report {job}: {found[job]['status'] if job in found else 'missing'}, "
            f"{found[job]['results'] if job in found else 0} result(s)"
            for job in ids
            if job not in found or found[job]["status"] != "succeeded" or found[job]["results"] != 1
        ]
        if not bad or time.monotonic() > deadline:
            return bad
        await asyncio.sleep(1)


async def check_orders(
    postgres: OwnPostgres,
    ledger: Ledger,
    user_id: int,
    products: list[int],
    *,
    within: float,
    abandoned: Abandoned,
) -> list[str]:
    server = postgres.dsn.rsplit("/", 1)[0]
    orders = await asyncpg.connect(f"{server}/{PREFIX}orders")
    catalog = await asyncpg.connect(f"{server}/{PREFIX}catalog")
    broken: list[str] = []
    try:
        told = {ids[0]: key for key, (_, ids) in ledger.orders.items()}
        rows = await orders.fetch(
            "SELECT o.id, k.key FROM orders o LEFT JOIN idempotency_keys k ON k.order_id = o.id "
            "WHERE o.user_id = $1",
            user_id,
        )
        in_db: dict[int, list[str | None]] = {}
        for row in rows:
            in_db.setdefault(row["id"], []).append(row["key"])
        for order_id, key in told.items():
            if in_db.get(order_id) != [key]:
                broken.append(f"order {order_id} (key {key}) is {in_db.get(order_id)} in the db")
        keys = [key for keys in in_db.values() for key in keys if key is not None]
        if len(keys) != len(set(keys)):
            broken.append("two orders for one Idempotency-Key")
        unknown = [k for k in keys if k not in ledger.orders and k not in ledger.unfinished_keys]
        if unknown:
            broken.append(f"orders for keys the client never sent: {unknown[:3]}")
        broken += [f"key {key} replayed another order" for key in ledger.replays_that_differ()]

        deadline = time.monotonic() + within
        while True:
            stock = {
                row["id"]: row["stock"]
                for row in await catalog.fetch(
                    "SELECT id, stock FROM products WHERE id = ANY($1::bigint[])", products
                )
            }
            sold = {
                row["product_id"]: row["units"]
                for row in await orders.fetch(
                    "SELECT i.product_id, sum(i.quantity) AS units FROM order_items i "
                    "JOIN orders o ON o.id = i.order_id WHERE o.user_id = $1 GROUP BY 1",
                    user_id,
                )
            }
            mismatched = [
                f"product {p}: {STOCK - stock[p]} taken, {sold.get(p, 0)} ordered"
                for p in products
                if STOCK - stock[p] != sold.get(p, 0)
            ]
            if not mismatched or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)  # a reservation of a killed request is swept back
        broken += mismatched
        if (problem := await released(catalog, abandoned)) is not None:
            broken.append(problem)
        negative = await catalog.fetchval("SELECT count(*) FROM products WHERE stock < 0")
        if negative:
            broken.append(f"{negative} products with negative stock")
        told_units = ledger.ordered_quantities()
        for product in products:
            if told_units.get(product, 0) > sold.get(product, 0):
                broken.append(f"product {product}: the client was told of more than was sold")
    finally:
        await orders.close()
        await catalog.close()
    return broken


def replicas_running(target: Target) -> int:
    """How many catalog processes the stack runs (`catalog` alone, or `catalog-1`, ...)."""
    return sum(1 for name in target.programs() if name.startswith("catalog-")) or 1


def check_answers(ledger: Ledger, replicas: int, outcome: Outcome) -> None:
    statuses = [answer.status for answer in ledger.answers]
    if 500 in statuses:
        outcome.broken.append(f"{statuses.count(500)} answers were 500")
    unshaped = [a for a in ledger.answers if a.status >= 400 and not a.shaped]
    if unshaped:
        outcome.broken.append(f"{len(unshaped)} error answers outside the error shape")
    other = sorted({s for s in statuses if s >= 500 and s not in (503, 504)})
    if other:
        outcome.broken.append(f"5xx other than 503/504: {other}")
    # The gateway's 503 for a process it could not use (killed, restarting). A read has
    # another replica to go to, so with two it is broken; a POST already sent to a process
    # killed under it cannot be sent again (the client retries it with its key).
    unanswered = [a for a in ledger.answers if a.code == "upstream_unavailable"]
    reads = [a for a in unanswered if a.op in GETS]
    if reads:
        line = f"{len(reads)} reads were 503 upstream_unavailable (a killed process)"
        (outcome.broken if replicas > 1 else outcome.notes).append(line)
    if len(unanswered) > len(reads):
        outcome.notes.append(
            f"{len(unanswered) - len(reads)} POSTs in flight on a killed process were 503"
            " upstream_unavailable, then retried"
        )


def table(ledger: Ledger, outcome: Outcome) -> str:
    rows = [
        f"{'fault':<26} {'errors/s before':>15} {'errors/s after':>14} {'recovered in':>12}  seen",
    ]
    ends = [i.at for i in outcome.injected[1:]] + [outcome.ended]
    for injected, end in zip(outcome.injected, ends, strict=True):
        start = injected.at
        before = [a for a in ledger.answers if start - AROUND <= a.at < start and is_error(a)]
        during = [a for a in ledger.answers if start <= a.at < end and is_error(a)]
        window = max(end - start, 1e-9)
        recovered = max((a.at for a in during), default=start) - start
        seen = sorted({f"{a.status}{'/' + a.code if a.code else ''}" for a in during})
        rows.append(
            f"{injected.fault.name:<26} {len(before) / AROUND:>15.2f} "
            f"{len(during) / window:>14.2f} {recovered:>11.1f}s  {', '.join(seen) or '-'}"
        )
    return "\n".join(rows)


async def exercise(
    gateway: str, target: Target, postgres: OwnPostgres, args: argparse.Namespace
) -> tuple[Ledger, Outcome]:
    outcome = Outcome()
    ledger = Ledger()
    async with httpx.AsyncClient(base_url=gateway, timeout=10) as client:
        shop = await open_shop(client, products=4, stock=STOCK)
        left = await abandon(client, shop.products[0])
        token = shop.customer["Authorization"].removeprefix("Bearer ")
        user_id = int(jwt.decode(token, options={"verify_signature": False})["sub"])
        faults = schedule(target)
        replicas = replicas_running(target)
        if replicas != args.replicas:
            outcome.notes.append(
                f"{args.replicas} replicas asked for, the native stack runs {replicas} of each"
            )
        seconds = args.spacing * (len(faults) + 1)
        print(f"chaos: {len(faults)} faults, one every {args.spacing:.0f} s, at {args.rate}/s")
        await asyncio.gather(
            Workload(shop, ledger, rate=args.rate).run(seconds),
            inject_all(faults, args.spacing, outcome),
        )
        outcome.ended = time.monotonic()
    server = postgres.dsn.rsplit("/", 1)[0]
    reports = await asyncpg.connect(f"{server}/{PREFIX}reports")
    try:
        outcome.broken += await settle_reports(reports, ledger.reports, within=120)
    finally:
        await reports.close()
    # Stock taken equals units ordered only once the abandoned reservation is swept back.
    outcome.broken += await check_orders(
        postgres, ledger, user_id, shop.products, within=60, abandoned=left
    )
    check_answers(ledger, replicas, outcome)
    return ledger, outcome


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--spacing", type=float, default=20.0, help="seconds between faults")
    parser.add_argument("--rate", type=float, default=15.0, help="operations per second")
    parser.add_argument("--replicas", type=int, default=2, help="MERCATO_REPLICAS")
    parser.add_argument("--port-offset", type=int, default=25000)
    args = parser.parse_args(argv)
    # SIGTERM (a test's timeout, a CI cancel) unwinds like Ctrl-C: the stack and the servers
    # this run started are stopped by the `finally` blocks below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with OwnPostgres() as postgres, OwnRedis() as redis:
        env = stack_env(postgres, redis, args.port_offset, args.replicas)
        run_dir = Path(env["MERCATO_RUN_DIR"])
        target = Target(run_dir, postgres, redis, f"http://127.0.0.1:{8090 + args.port_offset}")
        try:
            native("up", env)
            ledger, outcome = asyncio.run(
                exercise(f"http://127.0.0.1:{8080 + args.port_offset}", target, postgres, args)
            )
        finally:
            native("down", env)
    ops = len(ledger.answers)
    print(
        f"\nchaos: {ops} requests; {len(ledger.orders)} orders told, "
        f"{len(ledger.retried_keys)} keys retried, {len(ledger.unfinished_keys)} unfinished, "
        f"{len(ledger.reports)} report jobs accepted\n"
    )
    print(table(ledger, outcome))
    for note in outcome.notes:
        print(f"note: {note}")
    for line in outcome.broken:
        print(f"BROKEN: {line}")
    print("\nchaos: every invariant held" if not outcome.broken else "\nchaos: invariants broken")
    return 1 if outcome.broken else 0
