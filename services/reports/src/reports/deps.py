"""Reports' dependency aliases."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from mercato_shared.deps import ResourcesDep, SessionDep
from reports.config import ReportsSettings
from reports.queue import JobQueue
from reports.quota import ReportQuota
from reports.repository import JobRepository
from reports.service import ReportsService


async def get_job_queue(request: Request) -> JobQueue:
    return cast(JobQueue, request.state.job_queue)


JobQueueDep = Annotated[JobQueue, Depends(get_job_queue)]


async def get_reports_service(
    session: SessionDep, queue: JobQueueDep, resources: ResourcesDep
) -> ReportsService:
    settings = cast(ReportsSettings, resources.settings)
    quota = ReportQuota(
        max_in_flight=settings.report_max_in_flight_per_user,
        max_per_hour=settings.report_max_per_hour_per_user,
        retry_seconds=settings.report_quota_retry_seconds,
    )
    return ReportsService(JobRepository(session), queue, quota)


ReportsServiceDep = Annotated[ReportsService, Depends(get_reports_service)]
