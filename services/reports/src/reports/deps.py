"""Reports' dependency aliases."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from reports.service import ReportsService


async def get_reports_service(request: Request) -> ReportsService:
    return cast(ReportsService, request.state.reports_service)


ReportsServiceDep = Annotated[ReportsService, Depends(get_reports_service)]
