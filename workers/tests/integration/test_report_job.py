"""A report job's life against the real Postgres, without Celery."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mercato_shared.resilience import StatusError
from reports.repository import JobRepository
from workers.config import WorkerSettings
from workers.periodic import sweep
from workers.report_job import ReportJobRunner
from workers.sales_summary import SalesSummary

from .conftest import worker_settings
from .upstream import summarize

Sessions = async_sessionmaker[AsyncSession]


def order(oid: int, user: str, day: int, lines: Sequence[tuple[int, int, int]]) -> dict[str, Any]:
    """An order in the export's shape; lines are (product, quantity, unit price in cents)."""
    return {
        "id": oid,
        "user_id": int(user),
        "currency": "EUR",
        "total": str(Decimal(sum(q * c for _, q, c in lines)) / 100),
        "created_at": datetime(2026, 3, day, 10, tzinfo=UTC).isoformat(),
        "items": [
            {"product_id": p, "quantity": q, "unit_price": str(Decimal(c) / 100)}
            for p, q, c in lines
        ],
    }


ORDERS = [
    order(1, "1", 1, [(10, 2, 500), (20, 1, 1000)]),
    order(2, "2", 1, [(10, 1, 500)]),
    order(3, "1", 2, [(30, 1, 250)]),
    order(4, "3", 9, [(10, 5, 500)]),  # outside the period below
]


class ListSource:
    """Orders' sales summary of a list of orders (summed as the upstream stand-in sums it)."""

    def __init__(
        self, orders: Sequence[dict[str, Any]], fail_with: Exception | None = None
    ) -> None:
        self.orders = orders
        self.fail_with = fail_with
        self.delay = 0.0

    async def sales_summary(
        self, *, since: datetime, until: datetime, user_id: str | None = None
    ) -> SalesSummary:
        await asyncio.sleep(self.delay)
        if self.fail_with is not None:
            raise self.fail_with
        chosen = [
            item
            for item in self.orders
            if since <= datetime.fromisoformat(item["created_at"]) < until
            and user_id in (None, str(item["user_id"]))
        ]
        return SalesSummary.model_validate(summarize(chosen))


async def new_job(sessions: Sessions, kind: str = "sales", owner: str = "1") -> uuid.UUID:
    async with sessions() as session:
        job = await JobRepository(session).create(
            owner=owner, kind=kind, start=date(2026, 3, 1), end=date(2026, 3, 3)
        )
    return job.id


async def job_row(sessions: Sessions, job_id: uuid.UUID) -> dict[str, object]:
    async with sessions() as session:
        row = (
            await session.execute(
                text("SELECT status, attempts, error, cpu_seconds FROM report_jobs WHERE id = :id"),
                {"id": job_id},
            )
        ).one()
        results = await session.scalar(
            text("SELECT count(*) FROM report_results WHERE job_id = :id"), {"id": job_id}
        )
    return dict(row._mapping) | {"results": results}


def runner(sessions: Sessions, source: ListSource, **settings: object) -> ReportJobRunner:
    return ReportJobRunner(sessions, source, worker_settings(**settings))


async def test_a_job_runs_once_and_keeps_one_result(sessions: Sessions) -> None:
    job_id = await new_job(sessions)
    run = runner(sessions, ListSource(ORDERS))
    assert await run.run(job_id) == "succeeded"
    row = await job_row(sessions, job_id)
    assert (row["status"], row["attempts"], row["results"]) == ("succeeded", 1, 1)
    assert isinstance(row["cpu_seconds"], float)
    assert row["cpu_seconds"] > 0
    async with sessions() as session:
        body = await JobRepository(session).result_text(job_id, "json")
        csv = await JobRepository(session).result_text(job_id, "csv")
    assert body is not None
    assert '"orders": 3' in body
    assert csv is not None
    assert csv.splitlines()[1] == "2026-03-01,10,EUR,2,3,15.00"

    assert await run.run(job_id) == "finished"  # a duplicate delivery changes nothing
    assert (await job_row(sessions, job_id))["results"] == 1


async def test_two_runs_at_once_leave_one_result(sessions: Sessions) -> None:
    job_id = await new_job(sessions)
    source = ListSource(ORDERS)
    source.delay = 0.2
    outcomes = await asyncio.gather(
        runner(sessions, source).run(job_id), runner(sessions, source).run(job_id)
    )
    assert sorted(outcomes) == ["busy", "succeeded"]
    row = await job_row(sessions, job_id)
    assert (row["status"], row["attempts"], row["results"]) == ("succeeded", 1, 1)


async def test_a_dead_runs_job_is_taken_over_after_its_lease(sessions: Sessions) -> None:
    job_id = await new_job(sessions)
    async with sessions() as session:
        claim = await JobRepository(session).claim(
            job_id, uuid.uuid4(), lease_seconds=3, max_attempts=5
        )
    assert claim.outcome == "claimed"  # ... and that run's worker dies here
    assert await runner(sessions, ListSource(ORDERS)).run(job_id) == "busy"
    async with sessions() as session:
        await session.execute(
            text("UPDATE report_jobs SET heartbeat_at = now() - interval '1 minute'")
        )
        await session.commit()
    assert await runner(sessions, ListSource(ORDERS)).run(job_id) == "succeeded"
    row = await job_row(sessions, job_id)
    assert (row["status"], row["attempts"], row["results"]) == ("succeeded", 2, 1)


async def test_a_transient_error_gives_the_job_back_and_raises(sessions: Sessions) -> None:
    job_id = await new_job(sessions)
    source = ListSource(ORDERS, fail_with=aiohttp.ServerDisconnectedError())
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await runner(sessions, source).run(job_id)
    row = await job_row(sessions, job_id)
    assert (row["status"], row["attempts"], row["results"]) == ("queued", 1, 0)
    assert row["error"] == "the report could not be computed (internal error)"

    assert await runner(sessions, ListSource(ORDERS)).run(job_id) == "succeeded"


async def test_a_permanent_error_fails_the_job_without_internals(sessions: Sessions) -> None:
    job_id = await new_job(sessions)
    refused = StatusError(403, "http://orders.internal:8003/orders/sales-summary")
    assert await runner(sessions, ListSource(ORDERS, fail_with=refused)).run(job_id) == "failed"
    row = await job_row(sessions, job_id)
    assert (row["status"], row["results"]) == ("failed", 0)
    assert row["error"] == "the orders service answered HTTP 403"


async def test_attempts_are_bounded(sessions: Sessions) -> None:
    job_id = await new_job(sessions)
    async with sessions() as session:
        await session.execute(text("UPDATE report_jobs SET attempts = 2"))
        await session.commit()
    run = runner(sessions, ListSource(ORDERS), report_max_attempts=2)
    assert await run.run(job_id) == "exhausted"
    row = await job_row(sessions, job_id)
    assert row["status"] == "failed"
    assert row["error"] == "gave up after 2 attempts"


async def test_a_duplicate_on_the_last_attempt_leaves_the_live_run_alone(
    sessions: Sessions,
) -> None:
    job_id = await new_job(sessions)
    run_id = uuid.uuid4()
    async with sessions() as session:
        claim = await JobRepository(session).claim(job_id, run_id, lease_seconds=30, max_attempts=1)
    assert claim.outcome == "claimed"  # the first and last attempt, alive and heart-beating
    duplicate = runner(sessions, ListSource(ORDERS), report_max_attempts=1)
    assert await duplicate.run(job_id) == "busy"
    row = await job_row(sessions, job_id)
    assert (row["status"], row["attempts"]) == ("running", 1)


async def test_purchases_cover_only_the_owners_orders(sessions: Sessions) -> None:
    job_id = await new_job(sessions, kind="purchases", owner="2")
    assert await runner(sessions, ListSource(ORDERS)).run(job_id) == "succeeded"
    async with sessions() as session:
        body = await JobRepository(session).result_text(job_id, "json")
    assert body is not None
    assert '"orders": 1' in body
    assert '"user_id": "1"' not in body


async def test_the_sweeper_re_enqueues_lost_and_orphaned_jobs_once(
    sessions: Sessions, migrated: WorkerSettings
) -> None:
    lost, orphaned, alive, done = [await new_job(sessions) for _ in range(4)]
    async with sessions() as session:
        await session.execute(
            text(
                "UPDATE report_jobs SET enqueued_at = now() - interval '1 hour' WHERE id = :lost;"
            ),
            {"lost": lost},
        )
        for job_id, beat in ((orphaned, "1 hour"), (alive, "0 seconds")):
            await session.execute(
                text(
                    "UPDATE report_jobs SET status = 'running', run_id = gen_random_uuid(), "
                    f"heartbeat_at = now() - interval '{beat}' WHERE id = :id"
                ),
                {"id": job_id},
            )
        await session.execute(
            text("UPDATE report_jobs SET status = 'succeeded' WHERE id = :id"), {"id": done}
        )
        await session.commit()
    published: list[uuid.UUID] = []

    async def enqueue(job_id: uuid.UUID) -> None:
        published.append(job_id)

    assert await sweep(sessions, migrated, enqueue) == 2
    assert sorted(published) == sorted([lost, orphaned])
    assert (await job_row(sessions, orphaned))["status"] == "queued"
    assert await sweep(sessions, migrated, enqueue) == 0  # fresh enqueued_at: not again
