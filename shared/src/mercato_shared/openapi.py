"""The OpenAPI document of a Mercato service: the errors a route can give, written once.

`ERROR_RESPONSES` (on the app) documents what every route can answer. What depends on the
route is added here from FastAPI's route table, so no route has to repeat it:

* a route with a request body answers 400 `bad_request` when the body cannot be parsed at
  all (not JSON, not UTF-8, a broken form), before any field is validated (422).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from mercato_shared.errors import ErrorResponse

_ERROR_SCHEMA = {"$ref": f"#/components/schemas/{ErrorResponse.__name__}"}
BODY_ERRORS: dict[str, str] = {
    "400": "The body could not be parsed (not JSON or not UTF-8, or a broken form).",
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_SCHEMA}}}


def _complete(schema: dict[str, Any]) -> dict[str, Any]:
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict) or "requestBody" not in operation:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in BODY_ERRORS.items():
                responses.setdefault(status, _error(description))
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve the app's OpenAPI document with the route-dependent errors added (built once)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        built = app.openapi_schema is not None
        schema = build()
        return schema if built else _complete(schema)

    app.openapi = openapi  # type: ignore[method-assign]
