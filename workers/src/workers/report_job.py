"""One run of a report job: claim it, fetch orders' sales summary, compute, store the result.

This is the task's body without Celery, so it can be tested against the real database. The
CPU-bound computation runs in a thread of the worker process, which keeps the process's
event loop free to renew the job's lease (its heartbeat) while it works.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mercato_shared.background import in_background
from mercato_shared.resilience import StatusError
from mercato_shared.telemetry import annotate
from reports.repository import JobRepository
from workers.config import WorkerSettings
from workers.errors import is_transient
from workers.sales_report import compute, render_csv
from workers.sales_summary import SalesSummary

logger = logging.getLogger("mercato.workers.reports")


class OrderSource(Protocol):
    async def sales_summary(
        self, *, since: datetime, until: datetime, user_id: str | None = None
    ) -> SalesSummary: ...


def build_report(
    summary: SalesSummary, *, kind: str, start: date, end: date
) -> tuple[dict[str, Any], str]:
    report = compute(summary, kind=kind, start=start, end=end)
    return report, render_csv(report)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def public_error(exc: BaseException) -> str:
    """What the job's owner may read: no host names, SQL or stack traces."""
    if isinstance(exc, StatusError):
        return f"the orders service answered HTTP {exc.status_code}"
    return "the report could not be computed (internal error)"


@dataclass(frozen=True, slots=True)
class ReportJobRunner:
    sessions: async_sessionmaker[AsyncSession]
    orders: OrderSource
    settings: WorkerSettings

    async def run(self, job_id: uuid.UUID) -> str:
        """Run the job once; returns the outcome. Transient failures are re-raised."""
        run_id = uuid.uuid4()
        async with self.sessions() as session:
            claim = await JobRepository(session).claim(
                job_id,
                run_id,
                lease_seconds=self.settings.report_lease_seconds,
                max_attempts=self.settings.report_max_attempts,
                worker=f"{socket.gethostname()}:{os.getpid()}",
            )
        if claim.outcome != "claimed" or claim.job is None:
            logger.info(
                "report job not run", extra={"job_id": str(job_id), "outcome": claim.outcome}
            )
            return claim.outcome
        job = claim.job
        attributes: dict[str, str | int] = {
            "mercato.report.kind": job.kind,
            "mercato.report.attempt": job.attempts,
        }
        annotate(**attributes)
        limit = asyncio.timeout(self.settings.report_soft_time_limit)
        try:
            async with limit, self._heartbeat(job_id, run_id):
                cpu_started = time.process_time()
                user_id = job.owner if job.kind == "purchases" else None
                summary = await self.orders.sales_summary(
                    since=midnight(job.period_start),
                    until=midnight(job.period_end),
                    user_id=user_id,
                )
                body, csv = await asyncio.to_thread(
                    build_report,
                    summary,
                    kind=job.kind,
                    start=job.period_start,
                    end=job.period_end,
                )
                cpu_seconds = time.process_time() - cpu_started
        except Exception as exc:
            return await self._failed(job_id, run_id, exc, timed_out=limit.expired())
        annotate(
            **{"mercato.report.orders": body["orders"], "mercato.report.cpu_seconds": cpu_seconds}
        )
        async with self.sessions() as session:
            stored = await JobRepository(session).complete(
                job_id, body=body, csv=csv, cpu_seconds=cpu_seconds
            )
        logger.info(
            "report job done",
            extra={
                "job_id": str(job_id),
                "orders": body["orders"],
                "cpu_seconds": round(cpu_seconds, 3),
                "stored": stored,
            },
        )
        return "succeeded" if stored else "duplicate"

    async def _failed(
        self, job_id: uuid.UUID, run_id: uuid.UUID, exc: Exception, *, timed_out: bool
    ) -> str:
        async with self.sessions() as session:
            repository = JobRepository(session)
            if timed_out:
                limit = self.settings.report_soft_time_limit
                await repository.fail(job_id, run_id, f"the report took longer than {limit:.0f} s")
                return "failed"
            if is_transient(exc):
                logger.warning(
                    "report job hit a transient error; retrying",
                    extra={"job_id": str(job_id), "error": repr(exc)},
                )
                await repository.release(job_id, run_id, public_error(exc))
                raise exc
            logger.exception("report job failed", extra={"job_id": str(job_id)})
            await repository.fail(job_id, run_id, public_error(exc))
            return "failed"

    @asynccontextmanager
    async def _heartbeat(self, job_id: uuid.UUID, run_id: uuid.UUID) -> AsyncIterator[None]:
        async def beat() -> None:
            while True:
                await asyncio.sleep(self.settings.heartbeat_seconds)
                try:
                    async with self.sessions() as session:
                        held = await JobRepository(session).heartbeat(job_id, run_id)
                except Exception as exc:  # a missed beat is not fatal; the lease has slack
                    logger.warning(
                        "heartbeat failed", extra={"job_id": str(job_id), "error": repr(exc)}
                    )
                    continue
                if not held:
                    logger.warning("report job lease lost", extra={"job_id": str(job_id)})
                    return

        async with in_background(beat(), name=f"heartbeat:{job_id}"):
            yield
