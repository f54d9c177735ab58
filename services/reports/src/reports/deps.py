"""Reports' dependency aliases."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from mercato_shared.deps import SessionDep
from reports.queue import JobQueue
from reports.repository import JobRepository
from reports.service import ReportsService


async def get_job_queue(request: Request) -> JobQueue:
    return cast(JobQueue, request.state.job_queue)


JobQueueDep = Annotated[JobQueue, Depends(get_job_queue)]


async def get_reports_service(session: SessionDep, queue: JobQueueDep) -> ReportsService:
    return ReportsService(JobRepository(session), queue)


ReportsServiceDep = Annotated[ReportsService, Depends(get_reports_service)]
