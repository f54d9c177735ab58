"""Reports' domain errors."""

from __future__ import annotations

import uuid

from mercato_shared.errors import AppError, ConflictError, ForbiddenError, NotFoundError


class ReportNotFoundError(NotFoundError):
    """Also what someone else's job looks like: its existence is not disclosed."""

    def __init__(self, job_id: uuid.UUID) -> None:
        super().__init__(f"Report {job_id} does not exist.")


class ReportNotReadyError(ConflictError):
    code = "report_not_ready"

    def __init__(self, job_id: uuid.UUID, status: str) -> None:
        super().__init__(f"Report {job_id} is {status}; its result is not available.")


class SalesReportForbiddenError(ForbiddenError):
    def __init__(self) -> None:
        super().__init__("Only admins may run sales reports; use kind=purchases.")


class NotAcceptableError(AppError):
    status_code = 406
    code = "not_acceptable"

    def __init__(self) -> None:
        super().__init__("Reports are available as application/json or text/csv.")


class TooManyReportsError(AppError):
    """A customer's report quota is used up: 429 with `Retry-After`."""

    status_code = 429
    code = "too_many_reports"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
