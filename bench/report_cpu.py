"""What one sales report costs the report worker, and orders, for a shop of N orders.

    uv run --frozen --all-packages python -m bench.report_cpu [--orders 1000 10000] [--rounds 5]

Seeds N orders (one line each as in the bench's mix, or up to `--lines`; two currencies;
over the 31 days a bench report covers) into an orders database of its own (`rcpu_orders`,
on the local Postgres), serves orders from this tree on a loopback port of its own, with a
stand-in of identity's token endpoint, and runs report jobs the way a worker child does
(`ReportJobRunner.run` on a `reports` database of its own, `rcpu_reports`), each
`{"kind": "sales", "start": today-30, "days": 31}`.
Per N it prints, over the rounds (after one to warm up):

* the worker's CPU per report, as the job records it (`cpu_seconds`: process time of fetching
  what the report reads and computing it), the median;
* the CPU the orders process spent answering the reports' calls (from /proc, in 10 ms
  ticks: the mean over the rounds);
* the job's wall time, the median; and the median time orders takes to answer the sales
  summary alone (nan where orders has none).

The worker's code is whatever `workers` this interpreter imports: run it once as is, and once
with `PYTHONPATH=<a checkout of the previous commit>/workers/src` to measure what the report
cost before (orders is served from this tree either way). It prints which one it measured.
Bounded: N orders, `--rounds` jobs each, loopback only; it stops its own processes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx

import workers.report_job
from bench.procs import cpu_seconds, tree
from devtools.ports import wait_for_port
from mercato_shared.db import create_engine, create_session_factory
from mercato_shared.http import create_http_session
from mercato_shared.migrations import migrate
from mercato_shared.service_tokens import ServiceTokens
from mercato_shared.testing.loopback import free_port
from orders.config import OrdersSettings
from orders.migrate import MIGRATIONS as ORDERS_MIGRATIONS
from reports.migrate import MIGRATIONS as REPORTS_MIGRATIONS
from reports.repository import JobRepository
from workers.config import WorkerSettings
from workers.orders_client import OrdersClient
from workers.report_job import ReportJobRunner

PREFIX = "rcpu_"
PRODUCTS = 200
DAYS = 31


Row = tuple[object, ...]


def orders_rows(
    count: int, max_lines: int, today: date, seed: int = 28
) -> tuple[list[Row], list[Row]]:
    """`count` orders of 1..`max_lines` lines over the report's 31 days, and their items."""
    rng = random.Random(seed)  # noqa: S311 - a seeded synthetic shop, not security
    prices = [Decimal(rng.randint(199, 14_999)) / 100 for _ in range(PRODUCTS)]
    start = datetime(today.year, today.month, today.day, tzinfo=UTC) - timedelta(days=DAYS - 1)
    orders: list[Row] = []
    items: list[Row] = []
    for order_id in range(1, count + 1):
        currency = "EUR" if rng.random() < 0.8 else "USD"
        chosen = range(0, 150) if currency == "EUR" else range(150, PRODUCTS)
        lines = [(p + 1, rng.randint(1, 3)) for p in rng.sample(chosen, rng.randint(1, max_lines))]
        total = sum((prices[p - 1] * q for p, q in lines), Decimal(0))
        created = start + timedelta(seconds=rng.randint(0, DAYS * 86_400 - 1))
        user = rng.randint(1, max(count // 5, 1))
        orders.append((order_id, user, uuid.uuid4(), "confirmed", currency, total, created))
        items += [
            (len(items) + n + 1, order_id, p, f"Product {p}", q, prices[p - 1])
            for n, (p, q) in enumerate(lines)
        ]
    return orders, items


async def seed(dsn: str, count: int, lines: int, today: date) -> None:
    orders, items = orders_rows(count, lines, today)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("TRUNCATE orders, order_items, idempotency_keys")
        await connection.copy_records_to_table(
            "orders",
            records=orders,
            columns=[
                "id",
                "user_id",
                "reservation_id",
                "status",
                "currency",
                "total",
                "created_at",
            ],
        )
        await connection.copy_records_to_table(
            "order_items",
            records=items,
            columns=["id", "order_id", "product_id", "name", "quantity", "unit_price"],
        )
        await connection.execute("ANALYZE orders; ANALYZE order_items")
    finally:
        await connection.close()


@contextmanager
def serving(argv: list[str], env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(  # noqa: S603 - this module's own argv
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        if not wait_for_port(port, timeout=30):
            raise RuntimeError(f"{argv[0]} did not listen on {port}")
        yield process
    finally:
        process.terminate()
        process.wait(timeout=15)


async def run_jobs(
    settings: WorkerSettings, orders_pid: int, rounds: int, today: date
) -> dict[str, float]:
    engine = create_engine(settings)
    sessions = create_session_factory(engine)
    http = create_http_session(settings)
    tokens = ServiceTokens(
        http,
        identity_url=settings.identity_url,
        client_id=settings.reports_client_id,
        client_secret=settings.reports_client_secret,
        timeout=settings.http_timeout,
    )
    runner = ReportJobRunner(sessions, OrdersClient(http, tokens, settings), settings)
    start, end = today - timedelta(days=DAYS - 1), today + timedelta(days=1)
    worker, orders, wall = [], [], []
    try:
        for _ in range(rounds + 1):  # the first warms the connections and the token
            async with sessions() as session:
                job = await JobRepository(session).create(
                    owner="1", kind="sales", start=start, end=end
                )
            orders_before, started = cpu_seconds(tree(orders_pid)), time.perf_counter()
            assert await runner.run(job.id) == "succeeded"
            wall.append(time.perf_counter() - started)
            orders.append(cpu_seconds(tree(orders_pid)) - orders_before)
            async with sessions() as session:
                stored = await JobRepository(session).get(job.id)
            assert stored is not None
            assert stored.cpu_seconds is not None
            worker.append(stored.cpu_seconds)
    finally:
        await http.close()
        await engine.dispose()
    return {
        "worker_cpu": statistics.median(worker[1:]),
        "orders_cpu": statistics.mean(orders[1:]),
        "job_wall": statistics.median(wall[1:]),
    }


async def summary_time(orders_url: str, identity_url: str, today: date, rounds: int) -> float:
    """Median seconds orders takes to answer the sales summary of the report's window."""
    async with httpx.AsyncClient(timeout=60) as http:
        token = (
            await http.post(
                f"{identity_url}/token",
                data={"grant_type": "client_credentials", "client_id": "r", "client_secret": "s"},
            )
        ).json()["access_token"]
        since = datetime(today.year, today.month, today.day, tzinfo=UTC) - timedelta(days=30)
        params = {"since": since.isoformat(), "until": (since + timedelta(days=31)).isoformat()}
        headers = {"authorization": f"Bearer {token}"}
        times = []
        for _ in range(rounds + 1):
            started = time.perf_counter()
            response = await http.get(
                f"{orders_url}/orders/sales-summary", params=params, headers=headers
            )
            times.append(time.perf_counter() - started)
            if response.status_code == 404:
                return float("nan")
            response.raise_for_status()
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--lines", type=int, default=1, help="most lines per order (1: the bench's mix)"
    )
    args = parser.parse_args()
    today = datetime.now(UTC).date()
    orders_settings = OrdersSettings(database_prefix=PREFIX)
    migrate(orders_settings, ORDERS_MIGRATIONS)
    identity_port, orders_port = free_port(), free_port()
    identity_url = f"http://127.0.0.1:{identity_port}"
    orders_url = f"http://127.0.0.1:{orders_port}"
    settings = WorkerSettings(
        database_prefix=PREFIX,
        identity_url=identity_url,
        orders_url=orders_url,
        orders_deadline=120,
        orders_timeout=60,
    )
    migrate(settings, REPORTS_MIGRATIONS)
    env = os.environ | {"OTEL_SDK_DISABLED": "true", "DATABASE_PREFIX": PREFIX}
    binaries = Path(sys.executable).parent
    identity_argv = [
        str(binaries / "uvicorn"),
        "mercato_shared.testing.fakes:fake_identity",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(identity_port),
        "--no-access-log",
    ]
    orders_env = env | {
        "MERCATO_SERVICE": "orders",
        "HOST": "127.0.0.1",
        "PORT": str(orders_port),
        "IDENTITY_URL": identity_url,
    }
    print(f"worker code: {Path(workers.report_job.__file__).parents[2]}", flush=True)
    with (
        serving(identity_argv, env, identity_port),
        serving([sys.executable, "-m", "mercato_shared.serve"], orders_env, orders_port) as app,
    ):
        for count in args.orders:
            dsn = orders_settings.database_url.replace("+asyncpg", "")
            asyncio.run(seed(dsn, count, args.lines, today))
            figures = asyncio.run(run_jobs(settings, app.pid, args.rounds, today))
            answer = asyncio.run(summary_time(orders_url, identity_url, today, args.rounds))
            print(
                f"{count} orders of 1..{args.lines} lines: "
                f"worker CPU {figures['worker_cpu']:.3f} s/report, "
                f"orders CPU {figures['orders_cpu']:.3f} s/report, "
                f"job wall {figures['job_wall']:.3f} s; "
                f"orders answers the sales summary in {answer * 1000:.1f} ms",
                flush=True,
            )


if __name__ == "__main__":
    main()
