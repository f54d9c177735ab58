"""The error shape, request ids and the 500 safety net, on an app without I/O resources."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter
from pydantic import BaseModel, Field

from mercato_shared.app import create_app
from mercato_shared.errors import ConflictError
from mercato_shared.settings import BaseServiceSettings

router = APIRouter()


class Body(BaseModel):
    quantity: int = Field(ge=1)


@router.get("/conflict")
async def conflict() -> None:
    raise ConflictError("already there", code="duplicate_thing")


@router.get("/boom")
async def boom() -> None:
    msg = "secret internal detail"
    raise RuntimeError(msg)


@router.post("/things")
async def things(body: Body) -> Body:
    return body


@router.get("/things")
async def list_things() -> list[Body]:
    return []


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        BaseServiceSettings(), title="t", routers=[router], database=False, redis=False
    )
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            yield c


def assert_error_shape(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"] == response.headers["x-request-id"]
    assert "trace_id" in error
    return dict(error)


async def test_unknown_path_is_404_in_the_error_shape(client: httpx.AsyncClient) -> None:
    assert_error_shape(await client.get("/nope"), 404, "not_found")


async def test_wrong_method_is_405(client: httpx.AsyncClient) -> None:
    assert_error_shape(await client.delete("/conflict"), 405, "method_not_allowed")


async def test_405_allows_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    # GET and POST /things are two routes; Starlette alone would name only the first.
    response = await client.delete("/things")
    assert_error_shape(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, POST"


async def test_openapi_documents_400_for_every_body(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "400" in paths["/things"]["post"]["responses"]
    assert "400" not in paths["/things"]["get"]["responses"]


async def test_domain_error_keeps_its_code(client: httpx.AsyncClient) -> None:
    error = assert_error_shape(await client.get("/conflict"), 409, "duplicate_thing")
    assert error["message"] == "already there"


async def test_validation_error_lists_fields_without_echoing_input(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/things", json={"quantity": -5})
    error = assert_error_shape(response, 422, "validation_error")
    assert error["details"] == [
        {
            "loc": ["body", "quantity"],
            "msg": "Input should be greater than or equal to 1",
            "type": "greater_than_equal",
        }
    ]


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/things", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_error_shape(response, 422, "validation_error")


async def test_unhandled_exception_is_a_500_without_internals(client: httpx.AsyncClient) -> None:
    response = await client.get("/boom")
    error = assert_error_shape(response, 500, "internal_error")
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    assert error["message"] == "An internal error occurred."


async def test_request_id_is_echoed_when_well_formed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"x-request-id": "abc-123.X_y"})
    assert response.headers["x-request-id"] == "abc-123.X_y"


async def test_malformed_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    response = await client.get("/nope", headers={"x-request-id": "bad id\twith spaces"})
    assert response.headers["x-request-id"] != "bad id\twith spaces"
    assert len(response.headers["x-request-id"]) == 32
    assert response.json()["error"]["request_id"] == response.headers["x-request-id"]
