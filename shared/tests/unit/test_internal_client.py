"""The shared internal client's own logic, over `httpx.MockTransport` (no network).

The callee here is a handler function: these tests check what the client does with answers
(tokens, retries, the deadline, the breaker, the 503 mapping); the services' integration
tests check the same clients against the real services.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

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

Handler = Callable[[httpx.Request], httpx.Response]
POLICY = CallPolicy(
    timeout_seconds=1.0,
    max_attempts=3,
    backoff_initial_seconds=0,
    backoff_jitter_seconds=0,
    max_concurrency=None,
)


@dataclass
class Upstream:
    """A callee (`http://catalog`) and identity's token endpoint (`http://identity`)."""

    answer: Handler
    token_answers: list[httpx.Response] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    tokens_issued: int = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "identity":
            if self.token_answers:
                return self.token_answers.pop(0)
            self.tokens_issued += 1
            return httpx.Response(
                200, json={"access_token": f"t{self.tokens_issued}", "expires_in": 900}
            )
        self.requests.append(request)
        return self.answer(request)


def client_for(
    upstream: Upstream,
    *,
    breakers: BreakerRegistry | None = None,
    with_token: bool = True,
    deadline_seconds: float = 5.0,
) -> InternalClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(upstream))
    tokens = ServiceTokens(
        http, identity_url="http://identity", client_id="orders", client_secret="s" * 16, timeout=1
    )
    if breakers is None:
        return InternalClient.without_breaker(
            http,
            service="catalog",
            base_url="http://catalog/",
            timeout_seconds=1.0,
            attempts=POLICY.max_attempts,
            deadline_seconds=deadline_seconds,
            backoff_seconds=(0, 0),
            tokens=tokens if with_token else None,
        )
    return InternalClient(
        http,
        OutboundCaller(breakers, POLICY),
        service="catalog",
        base_url="http://catalog/",
        timeout_seconds=1.0,
        deadline_seconds=deadline_seconds,
        tokens=tokens if with_token else None,
    )


async def test_calls_the_base_url_with_the_service_token_and_returns_4xx_answers() -> None:
    upstream = Upstream(lambda _: httpx.Response(404, json={"error": {"code": "not_found"}}))
    response = await client_for(upstream).get("/products/7", params={"a": 1})
    assert response.status_code == 404
    assert error_of(response) == {"code": "not_found"}
    (request,) = upstream.requests
    assert str(request.url) == "http://catalog/products/7?a=1"
    assert request.headers["authorization"] == "Bearer t1"


async def test_a_401_fetches_a_new_token_and_sends_once_more() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        ok = request.headers["authorization"] == "Bearer t2"
        return httpx.Response(200 if ok else 401)

    upstream = Upstream(answer)
    client = client_for(upstream)
    assert (await client.get("/x")).status_code == 200
    assert [r.headers["authorization"] for r in upstream.requests] == ["Bearer t1", "Bearer t2"]
    assert upstream.tokens_issued == 2

    always = Upstream(lambda _: httpx.Response(401))
    assert (await client_for(always).get("/x")).status_code == 401  # refreshed once, no loop
    assert len(always.requests) == 2


async def test_without_a_token_no_authorization_is_sent() -> None:
    upstream = Upstream(lambda _: httpx.Response(200))
    await client_for(upstream, with_token=False).get("/x")
    assert "authorization" not in upstream.requests[0].headers
    assert upstream.tokens_issued == 0


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
async def test_faults_are_retried_for_idempotent_calls_then_a_503(status: int) -> None:
    upstream = Upstream(lambda _: httpx.Response(status))
    with pytest.raises(UpstreamUnavailableError) as raised:
        await client_for(upstream).get("/x")
    assert len(upstream.requests) == POLICY.max_attempts
    error = raised.value
    assert (error.status_code, error.code) == (503, "dependency_unavailable")
    assert error.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert error.message == "The catalog service is unavailable."
    assert error.outcome is Outcome.ERROR


async def test_a_call_that_is_not_idempotent_is_sent_once() -> None:
    upstream = Upstream(lambda _: httpx.Response(503))
    with pytest.raises(UpstreamUnavailableError):
        await client_for(upstream).request("POST", "/x", json={"a": 1}, idempotent=False)
    assert len(upstream.requests) == 1


async def test_a_retry_that_succeeds_returns_its_answer() -> None:
    answers = [httpx.Response(503), httpx.Response(201, json={"id": 1})]
    upstream = Upstream(lambda _: answers.pop(0))
    response = await client_for(upstream).request("POST", "/x", json={}, idempotent=True)
    assert response.status_code == 201
    assert len(upstream.requests) == 2


async def test_connect_errors_and_timeouts_are_503s_that_say_how() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(UpstreamUnavailableError) as refused:
        await client_for(Upstream(refuse)).get("/x")
    assert refused.value.outcome is Outcome.ERROR

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(UpstreamUnavailableError) as timed_out:
        await client_for(Upstream(slow)).get("/x")
    assert timed_out.value.outcome is Outcome.TIMEOUT


async def test_no_attempt_without_time_left() -> None:
    upstream = Upstream(lambda _: httpx.Response(200))
    with pytest.raises(UpstreamUnavailableError) as raised:
        await client_for(upstream).get("/x", deadline=Deadline(0))
    assert upstream.requests == []
    assert raised.value.outcome is Outcome.TIMEOUT


async def test_a_transient_token_failure_is_retried() -> None:
    upstream = Upstream(lambda _: httpx.Response(200), token_answers=[httpx.Response(503)])
    assert (await client_for(upstream).get("/x")).status_code == 200
    assert upstream.tokens_issued == 1


async def test_an_open_breaker_refuses_at_once() -> None:
    breakers = BreakerRegistry(failure_threshold=1, recovery_seconds=60)
    upstream = Upstream(lambda _: httpx.Response(503))
    client = client_for(upstream, breakers=breakers)
    with pytest.raises(UpstreamUnavailableError):
        await client.get("/x")  # the first fault opens it; the retry is refused
    assert len(upstream.requests) == 1
    with pytest.raises(UpstreamUnavailableError) as raised:
        await client.get("/x")
    assert len(upstream.requests) == 1
    assert raised.value.outcome is Outcome.CIRCUIT_OPEN
