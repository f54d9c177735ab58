"""The OpenAPI document a service serves: operation ids, every status, codes and headers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

import pytest
from fastapi import APIRouter, Form
from pydantic import BaseModel

from mercato_shared.app import create_app
from mercato_shared.auth import CurrentUser
from mercato_shared.dependencies import NOTHING
from mercato_shared.errors import ConflictError
from mercato_shared.responses import accepted_with_location, conditional_read, errors
from mercato_shared.settings import BaseServiceSettings

router = APIRouter()


class Thing(BaseModel):
    name: str


class ThingTakenError(ConflictError):
    code = "thing_taken"


class ThingBusyError(ConflictError):
    code = "thing_busy"
    default_headers: ClassVar[Mapping[str, str]] = {"Retry-After": "1"}


@router.get("/things/{thing_id}", responses=conditional_read())
async def get_thing(thing_id: int) -> Thing:
    return Thing(name=str(thing_id))


@router.post("/things", status_code=201, responses=errors(ThingTakenError, ThingBusyError))
async def create_thing(body: Thing) -> Thing:
    return body


@router.post("/things/token")
async def get_thing_token(name: Annotated[str, Form()]) -> Thing:
    return Thing(name=name)


@router.post("/jobs", status_code=202, responses=accepted_with_location())
async def submit_job(_user: CurrentUser) -> Thing:
    return Thing(name="job")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    app = create_app(BaseServiceSettings(), title="t", routers=[router], dependencies=NOTHING)
    return app.openapi()


def operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    found: dict[str, Any] = document["paths"][path][method]
    return found


def test_operation_ids_and_form_bodies_are_named_after_the_functions(
    document: dict[str, Any],
) -> None:
    ids = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    assert ids == {"get_thing", "create_thing", "get_thing_token", "submit_job"}
    assert "Body_get_thing_token" in document["components"]["schemas"]


def test_every_operation_documents_429_with_retry_after_and_every_response_its_request_id(
    document: dict[str, Any],
) -> None:
    for path in document["paths"].values():
        for op in path.values():
            too_many = op["responses"]["429"]
            assert too_many["x-error-codes"] == ["rate_limited", "too_many_connections"]
            assert too_many["headers"]["Retry-After"]["required"] is True
            for response in op["responses"].values():
                assert response["headers"]["X-Request-ID"]["required"] is True


def test_bodies_add_400_408_413_and_tokens_401(document: dict[str, Any]) -> None:
    created = operation(document, "post", "/things")["responses"]
    assert {"400", "408", "413"} <= created.keys()
    assert created["413"]["x-error-codes"] == ["payload_too_large"]
    assert "body" in created["400"]["description"]
    assert "401" not in created
    read = operation(document, "get", "/things/{thing_id}")["responses"]
    assert not {"408", "413", "401"} & read.keys()
    # The gateway refuses a control character in any request's path or headers.
    assert read["400"]["x-error-codes"] == ["bad_request"]
    assert "body" not in read["400"]["description"]
    job = operation(document, "post", "/jobs")["responses"]
    assert job["401"]["x-error-codes"] == ["unauthorized", "invalid_token"]


def test_error_classes_list_their_codes_and_their_retry_after(document: dict[str, Any]) -> None:
    conflict = operation(document, "post", "/things")["responses"]["409"]
    assert conflict["x-error-codes"] == ["thing_taken", "thing_busy"]
    assert conflict["description"] == "Conflict. Codes: `thing_taken`, `thing_busy`."
    assert conflict["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse"
    }
    # Only one of the two codes carries it: documented, not required.
    assert "required" not in conflict["headers"]["Retry-After"]
    unavailable = operation(document, "post", "/things")["responses"]["503"]
    assert unavailable["headers"]["Retry-After"]["required"] is True
    assert "dependency_unavailable" in unavailable["x-error-codes"]


def test_conditional_reads_and_accepted_jobs_document_their_headers(
    document: dict[str, Any],
) -> None:
    read = operation(document, "get", "/things/{thing_id}")["responses"]
    for status in ("200", "304"):
        assert {"ETag", "Cache-Control"} <= read[status]["headers"].keys()
    assert "content" not in read["304"]
    accepted = operation(document, "post", "/jobs")["responses"]["202"]
    assert accepted["headers"]["Location"]["required"] is True
