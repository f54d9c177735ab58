"""A 204 carries no content type; a JSON body still says application/json."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter

from mercato_shared.app import create_app
from mercato_shared.dependencies import NOTHING
from mercato_shared.settings import BaseServiceSettings

router = APIRouter()


@router.delete("/things/{thing_id}", status_code=204)
async def delete_thing(thing_id: int) -> None:
    del thing_id


@router.get("/things/{thing_id}")
async def get_thing(thing_id: int) -> dict[str, int]:
    return {"id": thing_id}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(BaseServiceSettings(), title="t", routers=[router], dependencies=NOTHING)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


async def test_no_content_has_no_content_type(client: httpx.AsyncClient) -> None:
    response = await client.delete("/things/1")
    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers


async def test_a_json_body_keeps_its_content_type(client: httpx.AsyncClient) -> None:
    response = await client.get("/things/1")
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"id": 1}
