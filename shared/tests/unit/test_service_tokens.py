"""The shared machine-client token cache, against identity's token endpoint shape, served on a
loopback port (the token is fetched over a real socket, as in production)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aiohttp
import pytest
from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from mercato_shared.service_tokens import ServiceTokens, TokenUnavailableError
from mercato_shared.testing.loopback import free_port, outbound_session, serve_on_loopback

Identity = Callable[[Request], Awaitable[Response]]


def tokens_at(http: aiohttp.ClientSession, url: str) -> ServiceTokens:
    return ServiceTokens(
        http, identity_url=url, client_id="orders", client_secret="s" * 16, timeout=1
    )


@asynccontextmanager
async def tokens_for(answer: Identity) -> AsyncIterator[ServiceTokens]:
    """Tokens from an identity whose `POST /token` answers with `answer`."""
    app = FastAPI()
    app.post("/token")(answer)
    async with serve_on_loopback(app) as url, outbound_session() as http:
        yield tokens_at(http, url)


def always(response: Response) -> Identity:
    async def answer(_: Request) -> Response:
        return response

    return answer


async def test_one_fetch_is_shared_and_reused_until_forgotten() -> None:
    fetched = 0

    async def identity(request: Request) -> Response:
        nonlocal fetched
        fetched += 1
        assert b"grant_type=client_credentials" in await request.body()
        await asyncio.sleep(0.01)
        return JSONResponse({"access_token": f"t{fetched}", "expires_in": 900})

    async with tokens_for(identity) as tokens:
        assert set(await asyncio.gather(*(tokens.get() for _ in range(10)))) == {"t1"}
        assert await tokens.get() == "t1"
        tokens.forget()
        assert await tokens.get() == "t2"
    assert fetched == 2


@pytest.mark.parametrize(
    ("answer", "transient"),
    [
        (Response(status_code=503), True),
        (Response(status_code=429), True),
        (JSONResponse({"error": {}}, status_code=401), False),
        (JSONResponse({"token": "no"}), False),
        (Response(b"not json"), False),
    ],
)
async def test_identity_failures_are_503s_that_say_whether_to_retry(
    answer: Response, transient: bool
) -> None:
    async with tokens_for(always(answer)) as tokens:
        with pytest.raises(TokenUnavailableError) as raised:
            await tokens.get()
    assert raised.value.status_code == 503
    assert raised.value.transient is transient


async def test_identity_unreachable_is_transient() -> None:
    async with outbound_session() as http:
        tokens = tokens_at(http, f"http://127.0.0.1:{free_port()}")
        with pytest.raises(TokenUnavailableError) as raised:
            await tokens.get()
    assert raised.value.transient is True
    assert isinstance(raised.value.__cause__, aiohttp.ClientConnectionError)


async def test_identity_too_slow_is_transient() -> None:
    async def slow(_: Request) -> Response:
        await asyncio.sleep(1.5)
        return JSONResponse({"access_token": "late", "expires_in": 900})

    async with tokens_for(slow) as tokens:
        with pytest.raises(TokenUnavailableError) as raised:
            await tokens.get()  # its timeout is 1 s
    assert raised.value.transient is True
    assert isinstance(raised.value.__cause__, TimeoutError)
