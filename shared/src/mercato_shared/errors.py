"""The one error shape of every Mercato response, and the exceptions that produce it.

    {"error": {"code": "...", "message": "...", "request_id": "...", "trace_id": "..."}}

Validation errors add `details` (field locations and messages, never the rejected input).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar, Final, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

from mercato_shared.context import current_trace_id, request_id_var
from mercato_shared.unavailable import CANDIDATE_TYPES, database_unavailable

logger = logging.getLogger("mercato.errors")

# How long a client should wait before retrying a request that met a dependency that is
# down: a Postgres restart or a replica coming back takes about this long.
RETRY_AFTER_SECONDS: Final = 2

E = TypeVar("E", bound=Exception)

CODES_BY_STATUS: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    request_id: str | None
    trace_id: str | None
    details: list[FieldError] | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


class AppError(Exception):
    """A domain error with its HTTP status and stable machine-readable code."""

    status_code: int = 500
    code: str = "internal_error"
    # Headers every response of this error carries (`headers=` adds or overrides).
    default_headers: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.headers = {**self.default_headers, **(headers or {})}


class BadRequestError(AppError):
    status_code = 400
    code = "bad_request"


class UnauthorizedError(AppError):
    status_code = 401
    code = "unauthorized"


class ForbiddenError(AppError):
    status_code = 403
    code = "forbidden"


class NotFoundError(AppError):
    status_code = 404
    code = "not_found"


class ConflictError(AppError):
    status_code = 409
    code = "conflict"


class UnprocessableError(AppError):
    status_code = 422
    code = "validation_error"


class DependencyUnavailableError(AppError):
    """503 `dependency_unavailable`, always with `Retry-After` (the default unless given)."""

    status_code = 503
    code = "dependency_unavailable"
    default_headers: ClassVar[Mapping[str, str]] = {"Retry-After": str(RETRY_AFTER_SECONDS)}


def error_response(
    status_code: int,
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    details: Sequence[FieldError] | None = None,
) -> JSONResponse:
    body = ErrorResponse(
        error=ErrorDetail(
            code=code,
            message=message,
            request_id=request_id_var.get(),
            trace_id=current_trace_id(),
            details=list(details) if details is not None else None,
        )
    )
    payload = body.model_dump()
    if details is None:
        del payload["error"]["details"]
    return JSONResponse(
        payload,
        status_code=status_code,
        headers=dict(headers or {}),
    )


def _narrowed(exc: Exception, expected: type[E]) -> E:
    """`exc` as the type its handler was registered for (a run-time check, not an `assert`)."""
    if not isinstance(exc, expected):
        msg = f"handler for {expected.__name__} got {type(exc).__name__}"
        raise TypeError(msg) from exc
    return exc


async def _app_error(_: Request, raised: Exception) -> JSONResponse:
    exc = _narrowed(raised, AppError)
    return error_response(exc.status_code, exc.code, exc.message, headers=exc.headers)


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope, starlettes: str = "") -> str:
    """Every method of every route whose path matches the request's, for `Allow`.

    Starlette's router answers 405 with the methods of the first route whose path matched
    (`starlettes`), so a path served by two routes (GET and POST /products) would advertise
    only one.
    """
    methods = {method.strip() for method in starlettes.split(",") if method.strip()}
    for route in routes:
        if isinstance(route, Route) and route.methods and route.matches(scope)[0] != Match.NONE:
            methods |= route.methods
    return ", ".join(sorted(methods))


def _http_error_handler(
    routes: Sequence[BaseRoute],
) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handle(request: Request, raised: Exception) -> JSONResponse:
        exc = _narrowed(raised, StarletteHTTPException)
        status = exc.status_code
        code = CODES_BY_STATUS.get(status, "error")
        message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
        headers = dict(exc.headers or {})
        if status == 405:
            headers["Allow"] = allowed_methods(routes, request.scope, headers.get("Allow", ""))
        return error_response(status, code, message, headers=headers)

    return handle


def _field_error(raw: Mapping[str, Any]) -> FieldError:
    return FieldError(
        loc=[part if isinstance(part, int) else str(part) for part in raw.get("loc", ())],
        msg=str(raw.get("msg", "")),
        type=str(raw.get("type", "")),
    )


async def _validation_error(_: Request, raised: Exception) -> JSONResponse:
    exc = _narrowed(raised, RequestValidationError)
    details = [_field_error(err) for err in exc.errors()]
    return error_response(
        422, "validation_error", "The request is not valid; see details.", details=details
    )


async def _database_error(_: Request, exc: Exception) -> JSONResponse:
    """Postgres unreachable (restart, refused, closed mid-query, pool timeout): a 503.

    Anything else of these types (an integrity or programming error, a file error) is
    re-raised, so it stays a logged 500.
    """
    if not database_unavailable(exc):
        raise exc
    logger.warning("database unavailable", extra={"error": repr(exc)})
    error = DependencyUnavailableError("The database is unavailable; retry shortly.")
    return error_response(error.status_code, error.code, error.message, headers=error.headers)


def install_error_handlers(app: FastAPI, *, routes: Sequence[BaseRoute] = ()) -> None:
    """Map every error a request can raise onto the one error shape.

    `routes` are the app's routes: a 405 lists in `Allow` the methods of all that match.

    Unhandled exceptions are turned into a 500 by `RequestContextMiddleware`, which also
    logs them; nothing internal (stack, SQL, host names) reaches the client. The database
    being unreachable is a 503 `dependency_unavailable` with `Retry-After`, never a 500.
    """
    app.add_exception_handler(AppError, _app_error)
    for exc_type in CANDIDATE_TYPES:
        app.add_exception_handler(exc_type, _database_error)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler(routes))
    app.add_exception_handler(RequestValidationError, _validation_error)


OpenApiResponses = dict[int | str, dict[str, Any]]


def error_responses(
    *statuses: int, descriptions: Mapping[int, str] | None = None
) -> OpenApiResponses:
    """OpenAPI `responses=` for answers in the error shape: `error_responses(401, 403, 409)`.

    Each is described by its status phrase unless `descriptions` says more.
    """
    said = descriptions or {}
    return {
        status: {"model": ErrorResponse, "description": said.get(status, HTTPStatus(status).phrase)}
        for status in statuses
    }


ERROR_RESPONSES: OpenApiResponses = error_responses(404, 422, 500, 503)
