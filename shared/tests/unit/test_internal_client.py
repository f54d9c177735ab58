"""The shared internal client's own logic, against callees served on loopback ports.

The callee here is a handler function behind a real socket (`serve_all`): these tests check
what the client does with answers (tokens, retries, the deadline, the breaker, the 503
mapping) and with transport faults (a refused connection, a callee that does not answer in
time); the services' integration tests check the same clients against the real services.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from mercato_shared.errors import RETRY_AFTER_SECONDS
from mercato_shared.internal_client import InternalClient, UpstreamUnavailableError, error_of
from mercato_shared.resilience import (
    BreakerRegistry,
    CallPolicy,
    Deadline,
    OutboundCaller,
    Outcome,
)
from mercato_shared.service_tokens import ServiceTokens
from mercato_shared.testing.loopback import free_port, outbound_session, serve_all

Handler = Callable[[Request], Response | Awaitable[Response]]
POLICY = CallPolicy(
    timeout_seconds=1.0,
    max_attempts=3,
    backoff_initial_seconds=0,
    backoff_jitter_seconds=0,
    max_concurrency=None,
)


@dataclass
class Upstream:
    """A callee (`catalog`) and identity's token endpoint (`identity`), each an ASGI app."""

    answer: Handler
    token_answers: list[Response] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    tokens_issued: int = 0

    async def identity(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.token_answers:
            response = self.token_answers.pop(0)
        else:
            self.tokens_issued += 1
            response = JSONResponse({"access_token": f"t{self.tokens_issued}", "expires_in": 900})
        await response(scope, receive, send)

    async def callee(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        await request.body()  # kept by the request, for the assertions
        self.requests.append(request)
        answer = self.answer(request)
        response = await answer if inspect.isawaitable(answer) else answer
        await response(scope, receive, send)


@asynccontextmanager
async def client_for(
    upstream: Upstream,
    *,
    breakers: BreakerRegistry | None = None,
    with_token: bool = True,
    deadline_seconds: float = 5.0,
    timeout_seconds: float = 1.0,
    callee_url: str | None = None,
) -> AsyncIterator[InternalClient]:
    """An internal client of `upstream`'s callee (or of `callee_url`), over real sockets."""
    apps = {"catalog": served(upstream.callee), "identity": served(upstream.identity)}
    async with serve_all(apps) as urls, outbound_session() as http:
        tokens = ServiceTokens(
            http,
            identity_url=urls["identity"],
            client_id="orders",
            client_secret="s" * 16,
            timeout=1,
        )
        base_url = f"{callee_url or urls['catalog']}/"
        if breakers is None:
            yield InternalClient.without_breaker(
                http,
                service="catalog",
                base_url=base_url,
                timeout_seconds=timeout_seconds,
                attempts=POLICY.max_attempts,
                deadline_seconds=deadline_seconds,
                backoff_seconds=(0, 0),
                tokens=tokens if with_token else None,
            )
            return
        yield InternalClient(
            http,
            OutboundCaller(breakers, POLICY),
            service="catalog",
            base_url=base_url,
            timeout_seconds=timeout_seconds,
            deadline_seconds=deadline_seconds,
            tokens=tokens if with_token else None,
        )


def served(app: ASGIApp) -> Starlette:
    """`app` at every path, in an application that speaks the lifespan protocol."""
    return Starlette(routes=[Mount("/", app=app)])


def status(code: int) -> Handler:
    return lambda _: Response(status_code=code)


async def test_calls_the_base_url_with_the_service_token_and_returns_4xx_answers() -> None:
    upstream = Upstream(lambda _: JSONResponse({"error": {"code": "not_found"}}, status_code=404))
    async with client_for(upstream) as client:
        response = await client.get("/products/7", params={"a": 1})
    assert response.status_code == 404
    assert error_of(response) == {"code": "not_found"}
    assert response.json() == {"error": {"code": "not_found"}}
    assert response.headers["content-type"] == "application/json"
    (request,) = upstream.requests
    assert (request.url.path, request.url.query) == ("/products/7", "a=1")
    assert request.headers["authorization"] == "Bearer t1"


async def test_a_json_body_is_sent_as_json() -> None:
    async def echo(request: Request) -> Response:
        return JSONResponse(await request.json(), status_code=201)

    upstream = Upstream(echo)
    async with client_for(upstream) as client:
        response = await client.request("POST", "/x", json={"a": [1, 2]}, idempotent=True)
    assert (response.status_code, response.json()) == (201, {"a": [1, 2]})
    assert upstream.requests[0].headers["content-type"] == "application/json"


async def test_a_401_fetches_a_new_token_and_sends_once_more() -> None:
    def answer(request: Request) -> Response:
        ok = request.headers["authorization"] == "Bearer t2"
        return Response(status_code=200 if ok else 401)

    upstream = Upstream(answer)
    async with client_for(upstream) as client:
        assert (await client.get("/x")).status_code == 200
    assert [r.headers["authorization"] for r in upstream.requests] == ["Bearer t1", "Bearer t2"]
    assert upstream.tokens_issued == 2

    always = Upstream(status(401))
    async with client_for(always) as client:
        assert (await client.get("/x")).status_code == 401  # refreshed once, no loop
    assert len(always.requests) == 2


async def test_without_a_token_no_authorization_is_sent() -> None:
    upstream = Upstream(status(200))
    async with client_for(upstream, with_token=False) as client:
        await client.get("/x")
    assert "authorization" not in upstream.requests[0].headers
    assert upstream.tokens_issued == 0


@pytest.mark.parametrize("code", [500, 502, 503, 504, 429])
async def test_faults_are_retried_for_idempotent_calls_then_a_503(code: int) -> None:
    upstream = Upstream(status(code))
    async with client_for(upstream) as client:
        with pytest.raises(UpstreamUnavailableError) as raised:
            await client.get("/x")
    assert len(upstream.requests) == POLICY.max_attempts
    error = raised.value
    assert (error.status_code, error.code) == (503, "dependency_unavailable")
    assert error.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert error.message == "The catalog service is unavailable."
    assert error.outcome is Outcome.ERROR


async def test_a_call_that_is_not_idempotent_is_sent_once() -> None:
    upstream = Upstream(status(503))
    async with client_for(upstream) as client:
        with pytest.raises(UpstreamUnavailableError):
            await client.request("POST", "/x", json={"a": 1}, idempotent=False)
    assert len(upstream.requests) == 1


async def test_a_retry_that_succeeds_returns_its_answer() -> None:
    answers = [Response(status_code=503), JSONResponse({"id": 1}, status_code=201)]
    upstream = Upstream(lambda _: answers.pop(0))
    async with client_for(upstream) as client:
        response = await client.request("POST", "/x", json={}, idempotent=True)
    assert (response.status_code, response.json()) == (201, {"id": 1})
    assert len(upstream.requests) == 2


async def test_connect_errors_and_timeouts_are_503s_that_say_how() -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    async with client_for(Upstream(status(200)), callee_url=nobody) as client:
        with pytest.raises(UpstreamUnavailableError) as refused:
            await client.get("/x")
    assert refused.value.outcome is Outcome.ERROR

    async def slow(_: Request) -> Response:
        await asyncio.sleep(0.6)
        return Response(status_code=200)

    upstream = Upstream(slow)
    async with client_for(upstream, timeout_seconds=0.1) as client:
        with pytest.raises(UpstreamUnavailableError) as timed_out:
            await client.get("/x")
    assert timed_out.value.outcome is Outcome.TIMEOUT
    assert len(upstream.requests) == POLICY.max_attempts  # a timeout is retried


async def test_no_attempt_without_time_left() -> None:
    upstream = Upstream(status(200))
    async with client_for(upstream) as client:
        with pytest.raises(UpstreamUnavailableError) as raised:
            await client.get("/x", deadline=Deadline(0))
    assert upstream.requests == []
    assert raised.value.outcome is Outcome.TIMEOUT


async def test_a_transient_token_failure_is_retried() -> None:
    upstream = Upstream(status(200), token_answers=[Response(status_code=503)])
    async with client_for(upstream) as client:
        assert (await client.get("/x")).status_code == 200
    assert upstream.tokens_issued == 1


async def test_an_open_breaker_refuses_at_once() -> None:
    breakers = BreakerRegistry(failure_threshold=1, recovery_seconds=60)
    upstream = Upstream(status(503))
    async with client_for(upstream, breakers=breakers) as client:
        with pytest.raises(UpstreamUnavailableError):
            await client.get("/x")  # the first fault opens it; the retry is refused
        assert len(upstream.requests) == 1
        with pytest.raises(UpstreamUnavailableError) as raised:
            await client.get("/x")
    assert len(upstream.requests) == 1
    assert raised.value.outcome is Outcome.CIRCUIT_OPEN
