"""The process's HTTP session and `send`, against an app on a loopback port; `Reply`."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from mercato_shared.http import create_http_session, send
from mercato_shared.reply import Reply
from mercato_shared.resilience import StatusError
from mercato_shared.settings import BaseServiceSettings
from mercato_shared.testing.loopback import serve_on_loopback


class CheckoutSettings(BaseServiceSettings):
    service_name = "checkout"


def upstream() -> FastAPI:
    app = FastAPI()

    @app.get("/echo")
    async def echo(request: Request) -> Response:
        answer = JSONResponse({"headers": dict(request.headers)})
        answer.set_cookie("session", "abc")
        return answer

    @app.get("/moved")
    async def moved() -> Response:
        return RedirectResponse("/echo", status_code=307)

    @app.get("/slow")
    async def slow() -> Response:
        await asyncio.sleep(1)
        return Response(status_code=204)

    return app


async def test_the_session_sends_its_user_agent_keeps_no_cookie_and_follows_no_redirect() -> None:
    settings = CheckoutSettings()
    async with serve_on_loopback(upstream()) as url:
        session = create_http_session(settings)
        try:
            first = await send(session, "GET", f"{url}/echo")
            second = await send(session, "GET", f"{url}/echo")
            moved = await send(session, "GET", f"{url}/moved")
        finally:
            await session.close()
    assert first.status_code == 200
    assert first.json()["headers"]["user-agent"] == "mercato-checkout"
    assert "set-cookie" in first.headers
    assert "cookie" not in second.json()["headers"]  # no jar: the cookie is not sent back
    assert (moved.status_code, moved.headers["location"]) == (307, "/echo")


async def test_every_call_has_the_sessions_timeout() -> None:
    settings = CheckoutSettings(http_timeout=0.2)
    async with serve_on_loopback(upstream()) as url:
        session = create_http_session(settings)
        try:
            with pytest.raises(TimeoutError):
                await send(session, "GET", f"{url}/slow")
        finally:
            await session.close()


def test_a_reply_reads_as_json_and_raises_our_error_for_an_error_status() -> None:
    ok = Reply(200, b'{"a": 1}', {"content-type": "application/json"})
    assert ok.json() == {"a": 1}
    assert ok.is_success
    ok.raise_for_status()
    with pytest.raises(ValueError, match="Expecting value"):
        Reply(200, b"not json", {}).json()
    for status in (400, 404, 429, 500, 503):
        with pytest.raises(StatusError) as raised:
            Reply(status, b"", {}, "http://catalog/x").raise_for_status()
        assert raised.value.status_code == status
        assert "http://catalog/x" in str(raised.value)
