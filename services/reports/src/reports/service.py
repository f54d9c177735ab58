"""Reports logic: accept a job, show it to its owner, hand out its result."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mercato_shared.auth import Principal
from mercato_shared.context import sampled_trace_id
from mercato_shared.telemetry import annotate
from reports.errors import ReportNotFoundError, ReportNotReadyError, SalesReportForbiddenError
from reports.models import ReportJob
from reports.negotiation import Format
from reports.queue import CUSTOMER_LANE, FIRST_LANE, JobQueue
from reports.quota import ReportQuota
from reports.repository import JobRepository
from reports.schemas import Period, ReportJobOut, ReportRequest


def job_out(job: ReportJob) -> ReportJobOut:
    return ReportJobOut(
        id=job.id,
        kind=job.kind,
        status=job.status,
        period=Period(start=job.period_start, end=job.period_end),
        attempts=job.attempts,
        error=job.error,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        cpu_seconds=job.cpu_seconds,
        trace_id=job.trace_id,
    )


class ReportsService:
    """The reports logic of one process (built once, in its lifespan). Each operation opens
    its own session and owns its transaction."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], queue: JobQueue, quota: ReportQuota
    ) -> None:
        self._sessions = sessions
        self._queue = queue
        self._quota = quota

    async def submit(self, principal: Principal, request: ReportRequest) -> ReportJobOut:
        """Commit the job as `queued` first, then publish it: a job is never only in Redis.

        A customer past the report quota is refused (429) before anything is written.
        """
        if request.kind == "sales" and not principal.is_admin:
            raise SalesReportForbiddenError
        async with self._sessions() as session:
            jobs = JobRepository(session)
            if not principal.is_admin:
                await jobs.admit(self._quota, principal.subject)
            job = await jobs.create(
                owner=principal.subject,
                kind=request.kind,
                start=request.start,
                end=request.end,
                trace_id=sampled_trace_id(),
            )
        annotate(**{"mercato.report.id": str(job.id), "mercato.report.kind": job.kind})
        await self._queue.enqueue(job.id, lane=FIRST_LANE if principal.is_admin else CUSTOMER_LANE)
        return job_out(job)

    async def get(self, principal: Principal, job_id: uuid.UUID) -> ReportJobOut:
        async with self._sessions() as session:
            return job_out(await _visible_job(JobRepository(session), principal, job_id))

    async def result(self, principal: Principal, job_id: uuid.UUID, fmt: Format) -> str:
        async with self._sessions() as session:
            jobs = JobRepository(session)
            job = await _visible_job(jobs, principal, job_id)
            result = None
            if job.status == "succeeded":
                result = await jobs.result_text(job_id, fmt)
        if result is None:
            raise ReportNotReadyError(job_id, job.status)
        return result


async def _visible_job(jobs: JobRepository, principal: Principal, job_id: uuid.UUID) -> ReportJob:
    """The job, if `principal` may see it: its owner or an admin."""
    job = await jobs.get(job_id)
    if job is None or (job.owner != principal.subject and not principal.is_admin):
        raise ReportNotFoundError(job_id)
    return job
