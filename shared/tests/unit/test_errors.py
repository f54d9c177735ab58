"""The error shape, request ids and the 500 safety net, on an app without I/O resources."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, IntegrityError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from mercato_shared.app import create_app
from mercato_shared.dependencies import NOTHING
from mercato_shared.errors import ConflictError, DependencyUnavailableError
from mercato_shared.settings import BaseServiceSettings
from mercato_shared.unavailable import database_unavailable

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
    app = create_app(BaseServiceSettings(), title="t", routers=[router], dependencies=NOTHING)
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
    posted = paths["/things"]["post"]["responses"]["400"]["description"]
    assert "body" in posted
    # Any request: the gateway refuses a control character in its path or headers.
    read = paths["/things"]["get"]["responses"]["400"]["description"]
    assert "body" not in read


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


@pytest.mark.parametrize(
    ("exc", "unavailable"),
    [
        (ConnectionRefusedError(111, "refused"), True),
        (asyncpg.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.ConnectionDoesNotExistError("connection was closed"), True),
        (asyncpg.AdminShutdownError("terminating connection"), True),
        (asyncpg.TooManyConnectionsError("too many clients"), True),
        (asyncpg.InterfaceError("connection is closed"), True),
        (TimeoutError(), True),
        (PoolTimeoutError("QueuePool limit reached"), True),
        (DBAPIError("SELECT 1", None, Exception("gone"), connection_invalidated=True), True),
        (IntegrityError("INSERT", None, asyncpg.UniqueViolationError("duplicate")), False),
        (ProgrammingError("SELECT", None, asyncpg.UndefinedTableError("no table")), False),
        (
            asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
            False,
        ),
        (FileNotFoundError("x"), False),
        (ValueError("bug"), False),
    ],
)
def test_which_errors_mean_the_database_is_unavailable(
    exc: BaseException, unavailable: bool
) -> None:
    assert database_unavailable(exc) is unavailable
    adapter = Exception("adapter")
    adapter.__cause__ = exc
    wrapped = DBAPIError("SELECT 1", None, adapter)
    assert database_unavailable(wrapped) is unavailable, "seen through SQLAlchemy's wrapper"


def test_dependency_unavailable_always_says_when_to_retry() -> None:
    assert DependencyUnavailableError("down").headers["Retry-After"] == "2"
    kept = DependencyUnavailableError("down", headers={"Retry-After": "30"})
    assert kept.headers["Retry-After"] == "30"
