"""What a route documents beyond its body: the errors it may answer and its response headers.

A route names its own answers; everything that depends only on the kind of route (a body,
a token, the gateway in front) is added to every document by `mercato_shared.openapi`.

    @router.post("", status_code=201, responses=errors(401, 403, DuplicateSkuError))
    @router.get("/{product_id}", responses=conditional_read())
    @router.post("", status_code=202, responses=accepted_with_location())

An error is given as a status (its codes are the ones the framework gives it) or as an
`AppError` class: its status, its `code`, and the `Retry-After` it always carries are
written from the class itself, so the document cannot drift from the error. Each error
response lists the codes it may carry in `x-error-codes` (and, once the document is
complete, in its description).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any, Final

from mercato_shared.errors import CODES_BY_STATUS, AppError, ErrorResponse

OpenApiResponses = dict[int | str, dict[str, Any]]

#: The OpenAPI extension that lists the `error.code` values a response may carry.
CODES_EXTENSION: Final = "x-error-codes"

_TOKEN: Final = {"type": "string", "pattern": "^[0-9]+$"}
REQUEST_ID: Final = {
    "description": "The request's id (the client's `X-Request-ID` when it is safe to echo, "
    "else one minted by the gateway); every log line of the request carries it.",
    "required": True,
    "schema": {"type": "string"},
}
RETRY_AFTER: Final = {
    "description": "Seconds to wait before retrying.",
    "schema": _TOKEN,
}
LOCATION: Final = {
    "description": "The URL of the resource to poll (absolute when the service knows its "
    "public base URL, else a path).",
    "required": True,
    "schema": {"type": "string", "format": "uri-reference"},
}
ETAG: Final = {
    "description": "The body's entity tag; send it back in `If-None-Match` to get a 304.",
    "required": True,
    "schema": {"type": "string"},
}
CACHE_CONTROL: Final = {
    "description": "How long any cache may keep the body (`public, max-age=N`).",
    "required": True,
    "schema": {"type": "string"},
}

#: Codes that the framework or the gateway may put on a status, whatever the route.
FRAMEWORK_CODES: Final[Mapping[int, tuple[str, ...]]] = {
    400: ("bad_request",),
    401: ("unauthorized", "invalid_token"),
    403: ("forbidden",),
    404: ("not_found",),
    406: ("not_acceptable",),
    408: ("request_timeout",),
    413: ("payload_too_large",),
    422: ("validation_error",),
    429: ("rate_limited", "too_many_connections"),
    500: ("internal_error",),
    503: ("dependency_unavailable", "upstream_unavailable", "service_unavailable"),
}
#: Statuses whose every answer carries `Retry-After`.
RETRIED_STATUSES: Final = frozenset({429, 503})


def framework_codes(status: int) -> tuple[str, ...]:
    """The codes the framework or the gateway gives `status`."""
    return FRAMEWORK_CODES.get(status, (CODES_BY_STATUS.get(status, "error"),))


def error_entry(
    status: int, codes: Iterable[str], description: str | None = None
) -> dict[str, Any]:
    """One error response: the error schema, its codes, its `Retry-After` (429, 503)."""
    entry: dict[str, Any] = {
        "model": ErrorResponse,
        "description": description or HTTPStatus(status).phrase,
        CODES_EXTENSION: list(dict.fromkeys(codes)),
    }
    if status in RETRIED_STATUSES:
        entry["headers"] = {"Retry-After": RETRY_AFTER | {"required": True}}
    return entry


def errors(
    *answers: int | type[AppError], descriptions: Mapping[int, str] | None = None
) -> OpenApiResponses:
    """OpenAPI `responses=` for errors: `errors(401, 403, UnknownProductError)`.

    A status stands for the codes the framework gives it (401: `unauthorized`,
    `invalid_token`); an `AppError` class adds its own code to its status, and its
    `Retry-After` header when every answer of it carries one.
    """
    codes: dict[int, list[str]] = {}
    retried: set[int] = set()
    for answer in answers:
        if isinstance(answer, int):
            codes.setdefault(answer, []).extend(framework_codes(answer))
            continue
        codes.setdefault(answer.status_code, []).append(answer.code)
        if "Retry-After" in answer.default_headers:
            retried.add(answer.status_code)
    said = descriptions or {}
    responses: OpenApiResponses = {}
    for status, listed in codes.items():
        entry = error_entry(status, listed, said.get(status))
        if status in retried:
            entry.setdefault("headers", {"Retry-After": RETRY_AFTER})
        responses[status] = entry
    return responses


def conditional_read() -> OpenApiResponses:
    """A public read with `ETag` and `Cache-Control`, and its 304 to `If-None-Match`."""
    headers = {"ETag": ETAG, "Cache-Control": CACHE_CONTROL}
    return {
        200: {"headers": headers},
        304: {
            "description": "Not modified: `If-None-Match` names the current body's tag. "
            "No body; the tag and `Cache-Control` are sent again.",
            "headers": headers,
        },
    }


def accepted_with_location() -> OpenApiResponses:
    """A 202 whose `Location` names the job to poll."""
    return {202: {"headers": {"Location": LOCATION}}}
