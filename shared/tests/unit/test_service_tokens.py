"""The shared machine-client token cache, against identity's token endpoint shape."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from mercato_shared.service_tokens import ServiceTokens, TokenUnavailableError


def tokens_for(handler: httpx.MockTransport) -> ServiceTokens:
    http = httpx.AsyncClient(transport=handler)
    return ServiceTokens(
        http, identity_url="http://identity", client_id="orders", client_secret="s" * 16, timeout=1
    )


async def test_one_fetch_is_shared_and_reused_until_forgotten() -> None:
    fetched = 0

    async def identity(request: httpx.Request) -> httpx.Response:
        nonlocal fetched
        fetched += 1
        assert b"grant_type=client_credentials" in request.content
        await asyncio.sleep(0.01)
        return httpx.Response(200, json={"access_token": f"t{fetched}", "expires_in": 900})

    tokens = tokens_for(httpx.MockTransport(identity))
    assert set(await asyncio.gather(*(tokens.get() for _ in range(10)))) == {"t1"}
    assert await tokens.get() == "t1"
    tokens.forget()
    assert await tokens.get() == "t2"
    assert fetched == 2


@pytest.mark.parametrize(
    ("answer", "transient"),
    [
        (httpx.Response(503), True),
        (httpx.Response(429), True),
        (httpx.Response(401, json={"error": {}}), False),
        (httpx.Response(200, json={"token": "no"}), False),
        (httpx.Response(200, content=b"not json"), False),
    ],
)
async def test_identity_failures_are_503s_that_say_whether_to_retry(
    answer: httpx.Response, transient: bool
) -> None:
    tokens = tokens_for(httpx.MockTransport(lambda _: answer))
    with pytest.raises(TokenUnavailableError) as raised:
        await tokens.get()
    assert raised.value.status_code == 503
    assert raised.value.transient is transient


async def test_identity_unreachable_is_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(TokenUnavailableError) as raised:
        await tokens_for(httpx.MockTransport(refuse)).get()
    assert raised.value.transient is True
