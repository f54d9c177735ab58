"""SIGTERM drains a process: retryable requests are turned away with a 502, the rest are
served on a closing connection, then the server's own SIGTERM handler runs."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from types import FrameType

import httpx
import pytest
from fastapi import APIRouter

from mercato_shared.app import create_app
from mercato_shared.dependencies import NOTHING
from mercato_shared.settings import BaseServiceSettings
from mercato_shared.testing.app_client import app_client

router = APIRouter()


@router.get("/thing")
async def get_thing() -> dict[str, str]:
    return {"thing": "read"}


@router.post("/thing")
async def post_thing() -> dict[str, str]:
    return {"thing": "written"}


class ServerHandler:
    """Stands in for the server's own SIGTERM handler (uvicorn's), which the drain chains to."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.called = asyncio.Event()

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.calls.append(signum)
        self.called.set()


@pytest.fixture
def server_handler() -> Iterator[ServerHandler]:
    handler = ServerHandler()
    original = signal.signal(signal.SIGTERM, handler)
    yield handler
    signal.signal(signal.SIGTERM, original)


def _client(seconds: float) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    settings = BaseServiceSettings(shutdown_drain_seconds=seconds)
    app = create_app(settings, title="t", routers=[router], dependencies=NOTHING)
    return app_client(app, "http://t")


async def test_sigterm_drains_then_hands_over(server_handler: ServerHandler) -> None:
    async with _client(0.3) as client:
        before = await client.get("/thing")
        assert before.status_code == 200
        assert "connection" not in before.headers

        signal.raise_signal(signal.SIGTERM)

        turned_away = await client.get("/thing", headers={"X-Request-ID": "drain-1"})
        assert turned_away.status_code == 502
        assert turned_away.headers["connection"] == "close"
        assert turned_away.headers["retry-after"] == "1"
        error = turned_away.json()["error"]
        assert error["code"] == "shutting_down"
        assert error["request_id"] == "drain-1"
        assert (await client.get("/readyz")).status_code == 502
        served = await client.post("/thing")
        assert served.json() == {"thing": "written"}
        assert served.headers["connection"] == "close"
        assert server_handler.calls == []  # still draining

        async with asyncio.timeout(10):
            await server_handler.called.wait()
        assert server_handler.calls == [signal.SIGTERM]
    assert signal.getsignal(signal.SIGTERM) is server_handler


async def test_a_second_sigterm_hands_over_at_once(server_handler: ServerHandler) -> None:
    async with _client(30) as client:
        signal.raise_signal(signal.SIGTERM)
        assert (await client.get("/thing")).status_code == 502
        signal.raise_signal(signal.SIGTERM)

        assert server_handler.calls == [signal.SIGTERM]


async def test_without_a_drain_nothing_changes(server_handler: ServerHandler) -> None:
    async with _client(0) as client:
        assert signal.getsignal(signal.SIGTERM) is server_handler
        response = await client.get("/thing")
        assert response.status_code == 200
        assert "connection" not in response.headers
