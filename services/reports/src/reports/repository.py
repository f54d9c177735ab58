"""SQL for report jobs. Every state change is one conditional UPDATE, so racing runs of a job
(a redelivered message, a sweeper's re-enqueue, a retry) cannot both win.

States: queued -> running -> succeeded | failed; running -> queued when a run gives its lease
back (transient failure) or the sweeper finds its heartbeat stale.

A run holds the job through a lease: `run_id` names the run and `heartbeat_at`, refreshed
while it works, says it is alive. A run may claim a job that is queued, or running with a
heartbeat older than the lease (its worker died). Completing writes the one result row in
the same transaction as the status change, and only while the job is not finished yet.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import Text, cast, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reports.models import ReportJob, ReportResult
from reports.quota import HOUR, ReportQuota

ClaimOutcome = Literal["claimed", "missing", "finished", "busy", "exhausted"]


@dataclass(frozen=True, slots=True)
class Claim:
    outcome: ClaimOutcome
    job: ReportJob | None = None


def _seconds_ago(seconds: float) -> Any:
    return func.now() - func.make_interval(0, 0, 0, 0, 0, 0, seconds)


class JobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(
        self, *, owner: str, kind: str, start: date, end: date, trace_id: str | None = None
    ) -> ReportJob:
        job = ReportJob(
            owner=owner, kind=kind, period_start=start, period_end=end, trace_id=trace_id
        )
        self._session.add(job)
        await self._session.commit()
        await self._session.refresh(job)
        return job

    async def admit(self, quota: ReportQuota, owner: str) -> None:
        """Hold the owner's quota lock until `create` commits, or raise TooManyReportsError
        when the owner's jobs leave no room (`ReportQuota.check`)."""
        session = self._session
        await session.execute(
            select(func.pg_advisory_xact_lock(func.hashtext("report-quota:" + owner)))
        )
        now: datetime = (await session.execute(select(func.now()))).scalar_one()
        recent = await session.scalars(
            select(ReportJob.created_at).where(
                ReportJob.owner == owner, ReportJob.created_at > now - HOUR
            )
        )
        in_flight = await session.scalar(
            select(func.count()).where(
                ReportJob.owner == owner, ReportJob.status.in_(("queued", "running"))
            )
        )
        quota.check(now, recent.all(), in_flight or 0)

    async def get(self, job_id: uuid.UUID) -> ReportJob | None:
        return await self._session.get(ReportJob, job_id)

    async def result_text(self, job_id: uuid.UUID, fmt: Literal["json", "csv"]) -> str | None:
        """The stored result in one format, as text: served as is, never re-serialised."""
        column = cast(ReportResult.body, Text) if fmt == "json" else ReportResult.csv
        return await self._session.scalar(select(column).where(ReportResult.job_id == job_id))

    async def claim(
        self,
        job_id: uuid.UUID,
        run_id: uuid.UUID,
        *,
        lease_seconds: float,
        max_attempts: int,
        worker: str | None = None,
    ) -> Claim:
        """Take the job for this run, or say why not."""
        statement = (
            update(ReportJob)
            .where(
                ReportJob.id == job_id,
                ReportJob.attempts < max_attempts,
                or_(
                    ReportJob.status == "queued",
                    (ReportJob.status == "running")
                    & (ReportJob.heartbeat_at < _seconds_ago(lease_seconds)),
                ),
            )
            .values(
                status="running",
                run_id=run_id,
                worker=worker,
                attempts=ReportJob.attempts + 1,
                started_at=func.now(),
                heartbeat_at=func.now(),
                error=None,
            )
            .returning(ReportJob)
            .execution_options(synchronize_session=False)
        )
        job = (await self._session.scalars(statement)).one_or_none()
        await self._session.commit()
        if job is not None:
            return Claim("claimed", job)
        current = await self._session.get(ReportJob, job_id, populate_existing=True)
        if current is None:
            return Claim("missing")
        if current.status in ("succeeded", "failed"):
            return Claim("finished", current)
        if current.status == "running":
            # Another run holds the job (a duplicate delivery). Even on its last attempt it
            # is not ours to fail: a dead run's job goes back to `queued` by the sweeper, and
            # the next claim then finds it exhausted.
            return Claim("busy", current)
        if current.attempts >= max_attempts:
            await self.fail(job_id, None, f"gave up after {current.attempts} attempts")
            return Claim("exhausted", current)
        return Claim("busy", current)

    async def heartbeat(self, job_id: uuid.UUID, run_id: uuid.UUID) -> bool:
        """Refresh the lease; False when this run no longer holds the job."""
        result = await self._session.execute(
            update(ReportJob)
            .where(
                ReportJob.id == job_id, ReportJob.run_id == run_id, ReportJob.status == "running"
            )
            .values(heartbeat_at=func.now())
            .returning(ReportJob.id)
        )
        await self._session.commit()
        return result.scalar_one_or_none() is not None

    async def complete(
        self, job_id: uuid.UUID, *, body: dict[str, Any], csv: str, cpu_seconds: float
    ) -> bool:
        """Store the result and mark the job succeeded, once; False if it was already done.

        Any run may complete an unfinished job (the report is deterministic); the row lock
        taken by the UPDATE makes a concurrent second completion see `succeeded` and stop.
        """
        result = await self._session.execute(
            update(ReportJob)
            .where(ReportJob.id == job_id, ReportJob.status.in_(("queued", "running")))
            .values(
                status="succeeded",
                finished_at=func.now(),
                cpu_seconds=cpu_seconds,
                error=None,
                run_id=None,
            )
            .returning(ReportJob.id)
        )
        if result.scalar_one_or_none() is None:
            await self._session.rollback()
            return False
        await self._session.execute(
            insert(ReportResult)
            .values(job_id=job_id, body=body, csv=csv)
            .on_conflict_do_nothing(index_elements=["job_id"])
        )
        await self._session.commit()
        return True

    async def release(self, job_id: uuid.UUID, run_id: uuid.UUID, error: str) -> bool:
        """Give the job back to the queue after a transient failure (the run will retry)."""
        result = await self._session.execute(
            update(ReportJob)
            .where(
                ReportJob.id == job_id, ReportJob.run_id == run_id, ReportJob.status == "running"
            )
            .values(status="queued", run_id=None, error=error[:2000], enqueued_at=func.now())
            .returning(ReportJob.id)
        )
        await self._session.commit()
        return result.scalar_one_or_none() is not None

    async def fail(self, job_id: uuid.UUID, run_id: uuid.UUID | None, error: str) -> bool:
        """Mark the job failed for good (a permanent error, or too many attempts)."""
        conditions = [ReportJob.id == job_id, ReportJob.status.in_(("queued", "running"))]
        if run_id is not None:
            conditions.append(ReportJob.run_id == run_id)
        result = await self._session.execute(
            update(ReportJob)
            .where(*conditions)
            .values(status="failed", error=error[:2000], finished_at=func.now(), run_id=None)
            .returning(ReportJob.id)
        )
        await self._session.commit()
        return result.scalar_one_or_none() is not None

    async def take_stuck(
        self, *, queued_for: float, lease_seconds: float, limit: int
    ) -> list[uuid.UUID]:
        """Jobs to enqueue again: queued too long, or running with a dead heartbeat.

        Both kinds are set to `queued` with a fresh `enqueued_at` in the same statement, so
        two sweepers running at once re-enqueue each job once. `SKIP LOCKED` keeps a
        sweeper from waiting on rows a run is updating.
        """
        stuck = (
            select(ReportJob.id)
            .where(
                or_(
                    (ReportJob.status == "queued")
                    & (ReportJob.enqueued_at < _seconds_ago(queued_for)),
                    (ReportJob.status == "running")
                    & (ReportJob.heartbeat_at < _seconds_ago(lease_seconds)),
                )
            )
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        result = await self._session.execute(
            update(ReportJob)
            .where(ReportJob.id.in_(stuck))
            .values(status="queued", run_id=None, enqueued_at=func.now())
            .returning(ReportJob.id)
            .execution_options(synchronize_session=False)
        )
        ids = list(result.scalars())
        await self._session.commit()
        return ids
