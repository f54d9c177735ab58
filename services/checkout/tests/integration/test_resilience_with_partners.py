"""The shared resilience layer against the real partners process."""

from __future__ import annotations

import httpx
import pytest

from mercato_shared.resilience import BreakerRegistry, CallPolicy, Deadline, OutboundCaller
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
    async with httpx.AsyncClient(base_url=partners_url, timeout=5) as http:

        async def book() -> httpx.Response:
            return (await http.post("/carriers/swift/shipments", json=body)).raise_for_status()

        with pytest.raises(httpx.HTTPStatusError):
            await caller.call("carrier-swift", book, deadline=Deadline(2), idempotent=False)
        assert await partners.requests("carrier-swift") == 1

        async def quote() -> httpx.Response:
            params: dict[str, str | int] = {"country": "DE", "postal_code": "10115"}
            params |= {"weight_grams": 500, "items": 1}
            return (await http.get("/carriers/swift/quote", params=params)).raise_for_status()

        with pytest.raises(httpx.HTTPStatusError):
            await caller.call("carrier-swift", quote, deadline=Deadline(2), idempotent=True)
        assert await partners.requests("carrier-swift") == 1 + 5


async def test_a_client_error_is_neither_retried_nor_a_breaker_failure(
    partners_url: str, partners: PartnersAdmin
) -> None:
    caller = await caller_for(attempts=5)
    async with httpx.AsyncClient(base_url=partners_url, timeout=5) as http:

        async def bad_quote() -> httpx.Response:
            return (await http.get("/carriers/swift/quote")).raise_for_status()  # no params

        with pytest.raises(httpx.HTTPStatusError):
            await caller.call("carrier-swift", bad_quote, deadline=Deadline(2), idempotent=True)
    assert caller.breakers is not None
    snapshot = caller.breakers.snapshot()["carrier-swift"]
    assert snapshot["failures"] == 0
    assert snapshot["state"] == "closed"
