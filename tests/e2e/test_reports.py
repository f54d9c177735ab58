"""Reports through the gateway: jobs accepted, computed by Celery, never lost.

The numbers are checked against SQL over the e2e orders database (the test may read it; the
workers may not). The fault tests kill a prefork child of the stack's worker and flush the
stack's own Redis database (never FLUSHALL, never another database).
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis

from tests.e2e.conftest import E2EStack
from tests.e2e.test_gateway_catalog import assert_error_shape
from tests.e2e.test_identity_orders import admin, new_customer

TODAY = datetime.now(UTC).date()
# Up to (not including) today: orders other e2e tests create today never change the answer.
SEED_START = TODAY - timedelta(days=125)
SEED_PERIOD: dict[str, object] = {"start": SEED_START.isoformat(), "days": 125}
CENT = Decimal("0.01")
# Catalog reads that must meet a running report, and a bound on the reports sent for them.
ENOUGH_READS = 5
MAX_REPORTS = 200


def db_dsn(stack: E2EStack, name: str) -> str:
    server = stack.env.get("POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432")
    prefix = stack.env["DATABASE_PREFIX"]
    return f"{server.replace('postgresql+asyncpg://', 'postgresql://')}/{prefix}{name}"


@pytest.fixture
async def orders_db(stack: E2EStack) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(db_dsn(stack, "orders"), timeout=10)
    yield conn
    await conn.close()


@pytest.fixture
async def reports_db(stack: E2EStack) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(db_dsn(stack, "reports"), timeout=10)
    yield conn
    await conn.close()


async def submit(
    gateway: httpx.AsyncClient, headers: dict[str, str], body: dict[str, object]
) -> dict[str, Any]:
    response = await gateway.post("/api/reports/reports", json=body, headers=headers)
    assert response.status_code == 202, response.text
    job = dict(response.json())
    assert job["status"] == "queued"
    assert response.headers["location"].endswith(f"/api/reports/reports/{job['id']}")
    return job


async def wait_done(
    gateway: httpx.AsyncClient, headers: dict[str, str], job_id: str, within: float = 120
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        response = await gateway.get(f"/api/reports/reports/{job_id}", headers=headers)
        assert response.status_code == 200, response.text
        job = dict(response.json())
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return job
        await asyncio.sleep(0.3)


async def result_rows(reports_db: asyncpg.Connection, job_id: str) -> int:
    return int(
        await reports_db.fetchval(
            "SELECT count(*) FROM report_results WHERE job_id = $1::uuid", job_id
        )
    )


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


async def test_sales_report_matches_sql_in_json_and_csv(
    gateway: httpx.AsyncClient, orders_db: asyncpg.Connection, reports_db: asyncpg.Connection
) -> None:
    headers = await admin(gateway)
    job = await submit(gateway, headers, {"kind": "sales", **SEED_PERIOD})
    done = await wait_done(gateway, headers, job["id"])
    assert done["status"] == "succeeded", done
    print(f"\nsales report over the seed: {done['cpu_seconds']:.3f} s of worker CPU")

    as_json = await gateway.get(f"/api/reports/reports/{job['id']}/result", headers=headers)
    assert as_json.status_code == 200
    assert as_json.headers["content-type"].startswith("application/json")
    report = as_json.json()
    as_csv = await gateway.get(
        f"/api/reports/reports/{job['id']}/result", headers=headers | {"accept": "text/csv"}
    )
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    # The same table at its own URL, whatever Accept says (for generated clients).
    as_csv_file = await gateway.get(f"/api/reports/reports/{job['id']}/result.csv", headers=headers)
    assert as_csv_file.status_code == 200
    assert as_csv_file.headers["content-type"].startswith("text/csv")
    assert as_csv_file.text == as_csv.text

    since = datetime.combine(SEED_START, datetime.min.time(), UTC)
    until = datetime.combine(TODAY, datetime.min.time(), UTC)
    count = await orders_db.fetchval(
        "SELECT count(*) FROM orders WHERE created_at >= $1 AND created_at < $2", since, until
    )
    assert count >= 1000, "the orders seed should have put thousands of orders in the period"
    assert report["orders"] == count

    summaries = await orders_db.fetch(
        """
        SELECT currency, count(*) AS n, sum(total) AS revenue,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY total) AS p50,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY total) AS p90,
               percentile_cont(0.99) WITHIN GROUP (ORDER BY total) AS p99
        FROM orders WHERE created_at >= $1 AND created_at < $2 GROUP BY currency
        """,
        since,
        until,
    )
    assert set(report["currencies"]) == {row["currency"] for row in summaries}
    for row in summaries:
        got = report["currencies"][row["currency"]]
        assert got["orders"] == row["n"]
        assert money(got["revenue"]) == money(row["revenue"])
        for name in ("p50", "p90", "p99"):
            assert abs(money(got["order_value"][name]) - money(row[name])) <= CENT, name
        top = await orders_db.fetchrow(
            """
            SELECT user_id, count(*) AS n, sum(total) AS spend FROM orders
            WHERE created_at >= $1 AND created_at < $2 AND currency = $3
            GROUP BY user_id ORDER BY sum(total) DESC, user_id::text LIMIT 1
            """,
            since,
            until,
            row["currency"],
        )
        assert top is not None
        best = got["top_customers"][0]
        assert money(best["spend"]) == money(top["spend"])
        assert best["orders"] == top["n"]

    cells = await orders_db.fetch(
        """
        SELECT to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, i.product_id,
               o.currency, count(DISTINCT o.id) AS orders, sum(i.quantity) AS quantity,
               sum(i.quantity * i.unit_price) AS revenue
        FROM orders o JOIN order_items i ON i.order_id = o.id
        WHERE o.created_at >= $1 AND o.created_at < $2
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        """,
        since,
        until,
    )
    expected = [
        {
            "day": c["day"],
            "product_id": str(c["product_id"]),
            "currency": c["currency"],
            "orders": str(c["orders"]),
            "quantity": str(c["quantity"]),
            "revenue": f"{money(c['revenue']):.2f}",
        }
        for c in cells
    ]
    assert rows == expected
    assert [
        {key: str(value) for key, value in cell.items()} for cell in report["per_product_day"]
    ] == expected
    assert await result_rows(reports_db, job["id"]) == 1


async def test_catalog_stays_prompt_while_reports_run(
    gateway: httpx.AsyncClient, reports_db: asyncpg.Connection
) -> None:
    """Catalog reads are served while reports run, and none waits for a report to finish.

    Proved by order, not by a clock: the jobs' states are read before and after each catalog
    read. A read during which a report kept running was served meanwhile; a read that waited
    on reports would see their states change while it was in flight, nearly every time.
    """
    headers = await admin(gateway)
    # Six weeks of orders each (about a third of the seed). A report reads a summary orders
    # aggregates, so one costs the worker little: the reports come in batches of twenty,
    # another batch whenever one has finished, until enough reads have met a running report.
    period = {"start": (TODAY - timedelta(days=42)).isoformat(), "days": 42}
    ids: list[str] = []

    async def submit_batch() -> None:
        ids.extend(
            [(await submit(gateway, headers, {"kind": "sales", **period}))["id"] for _ in range(20)]
        )

    async def states() -> dict[str, tuple[str, int]]:
        rows = await reports_db.fetch(
            "SELECT id::text, status, attempts FROM report_jobs WHERE id = ANY($1::uuid[])", ids
        )
        return {row["id"]: (row["status"], row["attempts"]) for row in rows}

    during = unchanged = 0
    latencies: list[float] = []
    await submit_batch()
    after = await states()
    for _ in range(2000):  # a bound; the loop ends when enough reads met a running report
        before = after
        started = time.perf_counter()
        response = await gateway.get("/api/catalog/products", params={"limit": 20})
        latencies.append(time.perf_counter() - started)
        after = await states()
        assert response.status_code == 200
        running = {job for job, state in before.items() if state[0] == "running"}
        if any(after.get(job) == before[job] for job in running):
            during += 1
            unchanged += after == before
        if all(status in ("succeeded", "failed") for status, _ in after.values()):
            if during >= ENOUGH_READS or len(ids) >= MAX_REPORTS:
                break
            await submit_batch()
            after = await states()
        await asyncio.sleep(0.05)
    finished = [await wait_done(gateway, headers, job_id, within=60) for job_id in ids]
    assert [job["status"] for job in finished] == ["succeeded"] * len(ids)
    cpu = [job["cpu_seconds"] for job in finished]
    print(
        f"\n{len(ids)} sales reports (worker CPU per job: median {statistics.median(cpu):.3f} s); "
        f"{during} catalog reads served while a report ran, {unchanged} of them while no "
        f"report changed state; median read {statistics.median(latencies) * 1000:.1f} ms"
    )
    assert during >= ENOUGH_READS, "catalog reads were served while reports ran"
    assert unchanged * 2 > during, "reads did not wait for reports to finish"


def supervisorctl(stack: E2EStack, *args: str) -> str:
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "supervisorctl"),
            "-c",
            str(stack.run_dir / "supervisord.conf"),
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout


def worker_children(stack: E2EStack) -> set[int]:
    """The prefork children of the stack's `worker` program, from supervisord and /proc."""
    status = supervisorctl(stack, "status", "worker")
    match = re.search(r"RUNNING\s+pid (\d+)", status)
    assert match, status
    pid = int(match.group(1))
    return {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


async def test_a_worker_child_killed_mid_job_still_ends_with_one_result(
    gateway: httpx.AsyncClient, stack: E2EStack, reports_db: asyncpg.Connection
) -> None:
    headers = await admin(gateway)
    job = await submit(gateway, headers, {"kind": "sales", **SEED_PERIOD})
    deadline = time.monotonic() + 60
    row = None
    while time.monotonic() < deadline:
        row = await reports_db.fetchrow(
            "SELECT status, worker FROM report_jobs WHERE id = $1::uuid", job["id"]
        )
        if row is not None and row["status"] != "queued":
            break
        await asyncio.sleep(0.05)
    assert row is not None
    assert row["status"] == "running", row
    pid = int(row["worker"].rsplit(":", 1)[1])
    assert pid in worker_children(stack)
    os.kill(pid, signal.SIGKILL)
    print(f"\nkilled worker child {pid} while it ran job {job['id']}")

    done = await wait_done(gateway, headers, job["id"], within=120)
    assert done["status"] == "succeeded", done
    assert done["attempts"] >= 2
    assert await result_rows(reports_db, job["id"]) == 1


def queued_job_ids(messages: list[bytes]) -> set[str]:
    """The report job ids in Celery messages as kombu stores them in a Redis list."""
    ids = set()
    for raw in messages:
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        ids.add(str(args[0]))
    return ids


async def test_flushing_redis_loses_no_accepted_job(
    gateway: httpx.AsyncClient, stack: E2EStack, reports_db: asyncpg.Connection
) -> None:
    """Jobs accepted while no worker runs wait in Redis; Redis loses them all (FLUSHDB);
    the worker comes back and every job still ends with one result."""
    headers = await admin(gateway)
    week = {"start": (TODAY - timedelta(days=7)).isoformat(), "days": 7}
    supervisorctl(stack, "stop", "worker")  # nothing takes a message off the queue now
    try:
        ids = [(await submit(gateway, headers, {"kind": "sales", **week}))["id"] for _ in range(8)]
        broker = aioredis.Redis.from_url(stack.env["REDIS_URL"])  # the e2e stack's own database
        async with broker.pipeline(transaction=True) as pipe:  # what was there is what went
            pipe.lrange("reports", 0, -1)
            pipe.flushdb()
            waiting, _ = await pipe.execute()
        await broker.aclose()
    finally:
        supervisorctl(stack, "start", "worker")
    assert set(ids) <= queued_job_ids(waiting), "every accepted job was waiting in Redis"
    statuses = await reports_db.fetch(
        "SELECT status FROM report_jobs WHERE id = ANY($1::uuid[])", ids
    )
    assert {row["status"] for row in statuses} == {"queued"}
    finished = [await wait_done(gateway, headers, job_id, within=120) for job_id in ids]
    print(f"\nflushed {len(waiting)} queued messages; all 8 jobs done after the sweep")
    assert [job["status"] for job in finished] == ["succeeded"] * 8
    assert [await result_rows(reports_db, job_id) for job_id in ids] == [1] * 8


async def test_bad_requests_are_4xx_in_the_error_shape(gateway: httpx.AsyncClient) -> None:
    administrator = await admin(gateway)
    customer, stranger = await new_customer(gateway), await new_customer(gateway)
    cases: list[tuple[dict[str, object], dict[str, str], int, str]] = [
        ({"kind": "weather", **SEED_PERIOD}, administrator, 422, "validation_error"),
        (
            {"kind": "sales", "start": "2026-02-01", "days": 0},
            administrator,
            422,
            "validation_error",
        ),
        (
            {"kind": "sales", "start": "2000-01-01", "days": 367},
            administrator,
            422,
            "validation_error",
        ),
        (
            {"kind": "sales", "start": "2026-01-01", "end": "2026-02-01"},
            administrator,
            422,
            "validation_error",
        ),
        ({"kind": "sales", **SEED_PERIOD}, customer, 403, "forbidden"),
        ({"kind": "purchases", **SEED_PERIOD}, {}, 401, "unauthorized"),
    ]
    for body, headers, status, code in cases:
        response = await gateway.post("/api/reports/reports", json=body, headers=headers)
        assert_error_shape(response, status, code)

    mine = await submit(gateway, customer, {"kind": "purchases", **SEED_PERIOD})
    for path in (f"/api/reports/reports/{mine['id']}", f"/api/reports/reports/{mine['id']}/result"):
        assert_error_shape(await gateway.get(path, headers=stranger), 404, "not_found")
    assert_error_shape(
        await gateway.get("/api/reports/reports/not-a-uuid", headers=customer),
        422,
        "validation_error",
    )
    done = await wait_done(gateway, customer, mine["id"])
    assert done["status"] == "succeeded", done
    own = await gateway.get(f"/api/reports/reports/{mine['id']}/result", headers=customer)
    assert own.status_code == 200
    assert own.json()["orders"] == 0  # a new customer has bought nothing yet
    assert_error_shape(
        await gateway.get(
            f"/api/reports/reports/{mine['id']}/result",
            headers=customer | {"accept": "image/png"},
        ),
        406,
        "not_acceptable",
    )
