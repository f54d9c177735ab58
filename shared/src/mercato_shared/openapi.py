"""The OpenAPI document of a Mercato service: what every route can answer, written once.

A route documents its own answers (`mercato_shared.responses`). What depends only on the
kind of route is added here from FastAPI's route table, so no route has to repeat it:

* every operation: 400 `bad_request` (the gateway refuses a control character in the path
  or in a header the services read); 429 (the gateway's rate and connection limits) with
  `Retry-After`; 404, 422, 500 and 503 (`ERROR_RESPONSES` on the app), the 503 with
  `Retry-After`;
* a route with a request body: 400 also when the body cannot be parsed at all (not JSON, not
  UTF-8, a broken form), before any field is validated (422); 408 when the body does not
  arrive in time; 413 when it is larger than the gateway takes;
* a route that takes a bearer token: 401 (`unauthorized`, `invalid_token`);
* every error response lists its codes in `x-error-codes` and its description, the codes
  the framework or the gateway may give its status included;
* every response, errors and 304s included, documents `X-Request-ID`.

Operation ids are the routes' function names (`get_product`, `create_order`), so generated
clients read like the code; the names of the models FastAPI makes for a form body follow.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI
from fastapi.routing import APIRoute

from mercato_shared.errors import ErrorResponse
from mercato_shared.responses import (
    CODES_EXTENSION,
    REQUEST_ID,
    error_entry,
    framework_codes,
)

_ERROR_SCHEMA: Final = {"$ref": f"#/components/schemas/{ErrorResponse.__name__}"}
MALFORMED: Final = "The request is malformed: a control character in its path or in a header"
BODY_ERRORS: Final[dict[int, str]] = {
    400: f"{MALFORMED}, or a body that cannot be parsed (not JSON or not UTF-8, a broken form)",
    408: "The body did not arrive within the service's deadline",
    413: "The body is larger than the gateway takes",
}
TOKEN_ERRORS: Final[dict[int, str]] = {401: "No valid access token"}
EVERY_ROUTE_ERRORS: Final[dict[int, str]] = {
    400: MALFORMED,
    429: "Too many requests from this address, or too many at once",
}
#: Statuses the framework or the gateway may answer on any route that documents them: their
#: codes are listed beside the route's own.
FRAMEWORK_STATUSES: Final = frozenset({400, 404, 408, 413, 422, 429, 500, 503})


def operation_id(route: APIRoute) -> str:
    """The operation id of a route: its function's name (`get_product`)."""
    return route.name


def _documented(status: int, description: str) -> dict[str, Any]:
    entry = error_entry(status, framework_codes(status), description)
    del entry["model"]
    return entry | {"content": {"application/json": {"schema": _ERROR_SCHEMA}}}


def _is_error(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    return bool(schema == _ERROR_SCHEMA)


def _complete_error(status: int, response: dict[str, Any]) -> None:
    codes = list(response.get(CODES_EXTENSION, ()))
    if status in FRAMEWORK_STATUSES or not codes:
        codes += framework_codes(status)
    codes = list(dict.fromkeys(codes))
    retry_after = error_entry(status, codes).get("headers", {})
    response[CODES_EXTENSION] = codes
    response["headers"] = retry_after | response.get("headers", {})
    listed = ", ".join(f"`{code}`" for code in codes)
    response["description"] = f"{response['description'].rstrip('.')}. Codes: {listed}."


def _complete_operation(operation: dict[str, Any]) -> None:
    responses: dict[str, dict[str, Any]] = operation.setdefault("responses", {})
    added = dict(EVERY_ROUTE_ERRORS)
    if "requestBody" in operation:
        added |= BODY_ERRORS  # its 400 says more
    if operation.get("security"):
        added |= TOKEN_ERRORS
    for code, description in added.items():
        responses.setdefault(str(code), _documented(code, description))
    for status, response in responses.items():
        if _is_error(response):
            _complete_error(int(status), response)
        # A new mapping: a route's `responses=` may share its header objects between routes.
        response["headers"] = {**response.get("headers", {}), "X-Request-ID": REQUEST_ID}


def _complete(schema: dict[str, Any]) -> dict[str, Any]:
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            if isinstance(operation, dict):
                _complete_operation(operation)
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve the app's OpenAPI document with the route-dependent answers added (built once)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        built = app.openapi_schema is not None
        schema = build()
        return schema if built else _complete(schema)

    app.openapi = openapi  # type: ignore[method-assign]
