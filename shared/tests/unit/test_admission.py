"""Admission control: edge requests beyond the limit wait in a short queue, then get a 503."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
from fastapi import APIRouter, Request
from starlette.types import Receive, Scope, Send

from mercato_shared.admission import Admission, AdmissionMiddleware
from mercato_shared.app import create_app
from mercato_shared.dependencies import NOTHING
from mercato_shared.settings import BaseServiceSettings
from mercato_shared.testing.app_client import app_client

EDGE = {"X-Real-IP": "203.0.113.7"}  # what the gateway sets on every request it proxies


class Held:
    """An app whose requests wait for `release`, counting how many run at once."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.running = 0
        self.most = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await self.release.wait()
        finally:
            self.running -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _client(app: AdmissionMiddleware) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def _until(condition: Callable[[], bool]) -> None:
    """Let the other tasks run until `condition()` holds (a bound on turns, not on time)."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


async def test_requests_past_the_limit_wait_for_a_slot_then_run() -> None:
    held = Held()
    admission = Admission(limit=1, queue_seconds=60)
    async with _client(AdmissionMiddleware(held, admission)) as client:
        requests = [asyncio.create_task(client.get("/", headers=EDGE)) for _ in range(3)]
        await _until(lambda: held.running == 1 and admission.waiting == 2)
        held.release.set()
        answers = await asyncio.gather(*requests)
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert held.most == 1
    assert admission.waiting == 0


async def test_a_request_that_waits_past_the_queue_bound_gets_a_fast_503() -> None:
    held = Held()
    admission = Admission(limit=1, queue_seconds=0.01)
    async with _client(AdmissionMiddleware(held, admission)) as client:
        first = asyncio.create_task(client.get("/", headers=EDGE))
        await _until(lambda: held.running == 1)
        refused = await client.get("/", headers=EDGE)  # the slot stays taken meanwhile
        held.release.set()
        assert (await first).status_code == 200
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["code"] == "overloaded"
    assert held.most == 1


async def test_calls_from_other_services_are_never_queued() -> None:
    held = Held()
    admission = Admission(limit=1, queue_seconds=0.01)
    async with _client(AdmissionMiddleware(held, admission)) as client:
        requests = [asyncio.create_task(client.get("/")) for _ in range(3)]  # no X-Real-IP
        await _until(lambda: held.running == 3)
        held.release.set()
        answers = await asyncio.gather(*requests)
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert admission.waiting == 0


router = APIRouter()


@router.get("/held")
async def get_held(request: Request) -> dict[str, str]:
    request.app.state.entered.set()
    await request.app.state.release.wait()
    return {"thing": "read"}


async def test_a_service_refuses_in_the_error_shape_with_the_request_id() -> None:
    settings = BaseServiceSettings(admission_limit=1, admission_queue_ms=0)
    app = create_app(settings, title="t", routers=[router], dependencies=NOTHING)
    app.state.entered, app.state.release = asyncio.Event(), asyncio.Event()
    async with app_client(app, "http://t") as client:
        first = asyncio.create_task(client.get("/held", headers=EDGE))
        await app.state.entered.wait()
        refused = await client.get("/held", headers=EDGE | {"X-Request-ID": "busy-1"})
        app.state.release.set()
        assert (await first).json() == {"thing": "read"}
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    error = refused.json()["error"]
    assert (error["code"], error["request_id"]) == ("overloaded", "busy-1")


async def test_a_limit_of_zero_admits_everything() -> None:
    settings = BaseServiceSettings(admission_limit=0)
    app = create_app(settings, title="t", routers=[router], dependencies=NOTHING)
    app.state.entered, app.state.release = asyncio.Event(), asyncio.Event()
    app.state.release.set()
    async with app_client(app, "http://t") as client:
        answers = await asyncio.gather(*(client.get("/held", headers=EDGE) for _ in range(3)))
    assert [answer.status_code for answer in answers] == [200, 200, 200]
