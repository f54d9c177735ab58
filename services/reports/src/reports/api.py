"""Reports HTTP routes: thin, typed, documented."""

from __future__ import annotations

import uuid
from typing import Final, cast

from fastapi import APIRouter, Request, Response, status

from mercato_shared.auth import CurrentUser
from mercato_shared.responses import accepted_with_location, errors
from reports.deps import ReportsServiceDep
from reports.errors import NotAcceptableError, ReportNotReadyError, TooManyReportsError
from reports.negotiation import Format, negotiate
from reports.result import CSV_COLUMNS, ReportResult
from reports.schemas import ReportJobOut, ReportRequest

router = APIRouter(prefix="/reports", tags=["reports"])

_AUTH_ERRORS = errors(401, 403)
_RESULT_ERRORS = errors(401, 403, ReportNotReadyError)
_CSV: Final = {
    "schema": {"type": "string"},
    "example": ",".join(CSV_COLUMNS) + "\n2026-11-02,17,EUR,3,4,79.96\n",
}


@router.post(
    "",
    response_model=ReportJobOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_AUTH_ERRORS | errors(TooManyReportsError) | accepted_with_location(),
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
    response.headers["Location"] = job_location(request, job.id)
    return job


def job_location(request: Request, job_id: uuid.UUID) -> str:
    """The job's URL: under PUBLIC_BASE_URL when set, else a path (never from `Host`)."""
    root_path = cast(str, request.scope.get("root_path", ""))
    path = root_path + str(request.app.url_path_for("get_report", job_id=str(job_id)))
    base = cast(str | None, request.state.public_base_url)
    return path if base is None else base.rstrip("/") + path


@router.get("/{job_id}", response_model=ReportJobOut, responses=_AUTH_ERRORS)
async def get_report(
    job_id: uuid.UUID, user: CurrentUser, service: ReportsServiceDep
) -> ReportJobOut:
    """The job's state (`queued | running | succeeded | failed`), timings and error."""
    return await service.get(user, job_id)


@router.get(
    "/{job_id}/result",
    response_model=ReportResult,
    responses={
        **_RESULT_ERRORS,
        **errors(NotAcceptableError),
        200: {"content": {"text/csv": _CSV}},
    },
)
async def get_report_result(
    job_id: uuid.UUID,
    user: CurrentUser,
    service: ReportsServiceDep,
    request: Request,
) -> Response:
    """The report as JSON (default), or as CSV with `Accept: text/csv` (the per product per
    day table; `GET .../result.csv` always answers it)."""
    # Accept is read here, not declared as a header parameter: OpenAPI ignores a parameter
    # named Accept; the 200's content types are what this route negotiates.
    fmt = negotiate(request.headers.get("accept"))
    if fmt is None:
        raise NotAcceptableError
    return await _result(service, user, job_id, fmt)


@router.get(
    "/{job_id}/result.csv",
    response_class=Response,
    responses={**_RESULT_ERRORS, 200: {"content": {"text/csv": _CSV}}},
)
async def get_report_csv(
    job_id: uuid.UUID, user: CurrentUser, service: ReportsServiceDep
) -> Response:
    """The per product per day table as CSV, whatever `Accept` says (one row per item of
    the JSON's `per_product_day`)."""
    return await _result(service, user, job_id, "csv")


async def _result(
    service: ReportsServiceDep, user: CurrentUser, job_id: uuid.UUID, fmt: Format
) -> Response:
    result = await service.result(user, job_id, fmt)
    headers = {"Vary": "Accept", "Cache-Control": "private, max-age=3600"}
    if fmt == "csv":
        headers["Content-Disposition"] = f'attachment; filename="report-{job_id}.csv"'
        return Response(result, media_type="text/csv; charset=utf-8", headers=headers)
    return Response(result, media_type="application/json", headers=headers)
