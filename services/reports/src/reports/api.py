"""Reports HTTP routes: thin, typed, documented."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from mercato_shared.auth import CurrentUser
from mercato_shared.errors import error_responses
from reports.deps import ReportsServiceDep
from reports.errors import NotAcceptableError
from reports.negotiation import negotiate
from reports.schemas import ReportJobOut, ReportRequest

router = APIRouter(prefix="/reports", tags=["reports"])

_AUTH_ERRORS = error_responses(401, 403)


@router.post(
    "",
    response_model=ReportJobOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(401, 403, 429),
)
async def submit_report(
    body: ReportRequest,
    user: CurrentUser,
    service: ReportsServiceDep,
    request: Request,
    response: Response,
) -> ReportJobOut:
    """Accept a report job; poll the `Location` until it is `succeeded`, then get `/result`."""
    job = await service.submit(user, body)
    response.headers["Location"] = str(request.url_for("get_report", job_id=job.id))
    return job


@router.get("/{job_id}", response_model=ReportJobOut, responses=_AUTH_ERRORS)
async def get_report(
    job_id: uuid.UUID, user: CurrentUser, service: ReportsServiceDep
) -> ReportJobOut:
    """The job's state (`queued | running | succeeded | failed`), timings and error."""
    return await service.get(user, job_id)


@router.get(
    "/{job_id}/result",
    responses={
        **error_responses(401, 403, 406, 409, descriptions={409: "`report_not_ready`"}),
        200: {"content": {"application/json": {}, "text/csv": {}}},
    },
)
async def get_report_result(
    job_id: uuid.UUID,
    user: CurrentUser,
    service: ReportsServiceDep,
    request: Request,
) -> Response:
    """The report as JSON (default) or CSV (`Accept: text/csv`: the per product per day table)."""
    # Accept is read here, not declared as a header parameter: OpenAPI ignores a parameter
    # named Accept; the 200's content types are what this route negotiates.
    fmt = negotiate(request.headers.get("accept"))
    if fmt is None:
        raise NotAcceptableError
    result = await service.result(user, job_id, fmt)
    headers = {"Vary": "Accept", "Cache-Control": "private, max-age=3600"}
    if fmt == "csv":
        headers["Content-Disposition"] = f'attachment; filename="report-{job_id}.csv"'
        return Response(result, media_type="text/csv; charset=utf-8", headers=headers)
    return Response(result, media_type="application/json", headers=headers)
