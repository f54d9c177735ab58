"""The shared resilience layer against the real partners process."""

from __future__ import annotations

import pytest

from mercato_shared.http import send
from mercato_shared.reply import Reply
from mercato_shared.resilience import (
    BreakerRegistry,
    CallPolicy,
    Deadline,
    OutboundCaller,
    StatusError,
)
from mercato_shared.testing.loopback import outbound_session
from mercato_shop.testing.partners_admin import PartnersAdmin


async def caller_for(attempts: int) -> OutboundCaller:
    breakers = BreakerRegistry(failure_threshold=100, recovery_seconds=5)
    caller = OutboundCaller(breakers, CallPolicy(max_attempts=attempts, backoff_initial_seconds=0))
    await caller.start(["carrier-swift"])
    return caller


async def test_a_non_idempotent_call_is_never_retried(
    partners_url: str, partners: PartnersAdmin
) -> None:
    await partners.fault("carrier-swift", error_rate=1.0)
    caller = await caller_for(attempts=5)
    body = {"country": "DE", "postal_code": "10115", "weight_grams": 500}
    async with outbound_session() as http:

        async def book() -> Reply:
            url = f"{partners_url}/carriers/swift/shipments"
            reply = await send(http, "POST", url, json=body)
            reply.raise_for_status()
            return reply

        with pytest.raises(StatusError):
            await caller.call("carrier-swift", book, deadline=Deadline(2), idempotent=False)
        assert await partners.requests("carrier-swift") == 1

        async def quote() -> Reply:
            params: dict[str, str | int] = {"country": "DE", "postal_code": "10115"}
            params |= {"weight_grams": 500, "items": 1}
            url = f"{partners_url}/carriers/swift/quote"
            reply = await send(http, "GET", url, params=params)
            reply.raise_for_status()
            return reply

        with pytest.raises(StatusError):
            await caller.call("carrier-swift", quote, deadline=Deadline(2), idempotent=True)
        assert await partners.requests("carrier-swift") == 1 + 5


async def test_a_client_error_is_neither_retried_nor_a_breaker_failure(
    partners_url: str, partners: PartnersAdmin
) -> None:
    caller = await caller_for(attempts=5)
    async with outbound_session() as http:

        async def bad_quote() -> Reply:
            reply = await send(http, "GET", f"{partners_url}/carriers/swift/quote")  # no params
            reply.raise_for_status()
            return reply

        with pytest.raises(StatusError) as raised:
            await caller.call("carrier-swift", bad_quote, deadline=Deadline(2), idempotent=True)
    assert raised.value.status_code == 422
    assert caller.breakers is not None
    snapshot = caller.breakers.snapshot()["carrier-swift"]
    assert snapshot["failures"] == 0
    assert snapshot["state"] == "closed"
