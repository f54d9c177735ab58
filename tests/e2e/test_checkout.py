"""Checkout quotes through the gateway, against the native stack's real partners process.

Faults are set on the partners admin API, directly on its port (it is never routed by the
gateway), and reset after every test.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from mercato_shop.testing.partners_admin import PartnersAdmin, overlapped
from tests.e2e.conftest import E2EStack
from tests.e2e.test_gateway_catalog import assert_error_shape

CARRIERS = ("carrier-swift", "carrier-parcelpost", "carrier-freightline")
ALL_PARTNERS = (*CARRIERS, "tax", "fx")
# Only so that a test cannot wait forever (a hanging partner holds a call for 30 s); every
# property below is proven by answers and by the partners' record of events, not a clock.
SAFETY_SECONDS = 10


def cart(*lines: tuple[int, int], currency: str = "USD") -> dict[str, Any]:
    return {
        "items": [{"product_id": pid, "quantity": qty} for pid, qty in lines],
        "destination": {"country": "FR", "postal_code": "75001"},
        "currency": currency,
    }


@pytest.fixture
async def partners(stack: E2EStack) -> AsyncIterator[PartnersAdmin]:
    port = 8090 + int(stack.env["MERCATO_PORT_OFFSET"])
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
        admin = PartnersAdmin(client)
        await admin.reset()
        yield admin
        await admin.reset()


async def quote(gateway: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await gateway.post("/api/checkout/quote", json=body)


async def test_quote_fans_out_concurrently(
    gateway: httpx.AsyncClient, partners: PartnersAdmin, stack: E2EStack
) -> None:
    """The five partner calls of a quote are in flight together.

    Every partner holds its request until all five have one (the rendezvous), then answers
    after 50 ms: calls made one after another would time out at the first. The partners'
    record shows every call of the quote starting before any of them ended. (A quote's time
    with partners at 50 ms is the benchmark's figure, scenario (d).)
    """
    for partner in ALL_PARTNERS:
        await partners.fault(partner, latency_ms=50, rendezvous=True)
    product = random.randint(1, 1000)
    redis = Redis.from_url(stack.env["REDIS_URL"])
    try:
        for quantity in range(1, 4):  # a new parcel each time, so no carrier answer is cached
            await redis.delete("checkout:fx:EUR")  # and FX is asked each time (setup only)
            await partners.clear_stats()
            async with asyncio.timeout(SAFETY_SECONDS):
                response = await quote(gateway, cart((product, quantity)))
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["partial"] is False
            assert {s["status"] for s in body["sources"].values()} == {"ok"}
            assert all(body["sources"][p]["latency_ms"] >= 50 for p in ALL_PARTNERS)
            calls = await partners.settled_calls()
            assert sorted(c.partner for c in calls) == sorted(ALL_PARTNERS)
            assert {c.outcome for c in calls} == {"answered"}
            assert overlapped(calls), calls
    finally:
        await redis.aclose()


async def test_hanging_carrier_gives_partial_quote_in_time(
    gateway: httpx.AsyncClient, partners: PartnersAdmin
) -> None:
    """Checkout gives up on a hanging carrier and answers without it: the carrier's calls end
    `abandoned` in its record (checkout hung up first). (The answer's time against the quote
    deadline is the benchmark's figure, scenario (d) with one carrier hanging.)"""
    await partners.fault("carrier-parcelpost", hang=True)
    async with asyncio.timeout(SAFETY_SECONDS):
        response = await quote(gateway, cart((random.randint(1, 1000), 7)))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["partial"] is True
    assert body["sources"]["carrier-parcelpost"]["status"] == "timeout"
    assert "parcelpost" not in {o["carrier"] for o in body["shipping_options"]}
    calls = await partners.settled_calls(safety_seconds=SAFETY_SECONDS)
    hung = [c.outcome for c in calls if c.partner == "carrier-parcelpost"]
    assert hung, "the hanging carrier was asked"
    assert set(hung) == {"abandoned"}, calls
    assert {c.outcome for c in calls if c.partner != "carrier-parcelpost"} <= {"answered"}


async def test_breaker_opens_then_recovers(
    gateway: httpx.AsyncClient, partners: PartnersAdmin
) -> None:
    await partners.fault("carrier-swift", outage=True)
    # Carrier quotes are cached for 30 s by parcel (destination, weight, items): a quantity
    # no other test uses gives a parcel no cached 'ok' answer can stand in for. At most 390
    # items of at most 2.5 kg stay under the carriers' 1-tonne limit (a heavier parcel is
    # the caller's 4xx, which rightly never counts against the carrier).
    product, quantity = random.randint(1, 1000), random.randint(100, 390)
    statuses = []
    for _ in range(10):
        body = (await quote(gateway, cart((product, quantity)))).json()
        statuses.append(body["sources"]["carrier-swift"]["status"])
        if statuses[-1] == "circuit_open":
            break
    assert statuses[-1] == "circuit_open", statuses
    reached = await partners.requests("carrier-swift")
    for _ in range(3):
        body = (await quote(gateway, cart((product, quantity)))).json()
        assert body["sources"]["carrier-swift"]["status"] == "circuit_open"
        assert body["partial"] is True
    assert await partners.requests("carrier-swift") == reached, "an open breaker calls nobody"
    ready = (await gateway.get("/api/checkout/readyz")).json()
    assert ready["details"]["circuit_breakers"]["carrier-swift"]["state"] == "open"

    await partners.fault("carrier-swift")  # the outage ends
    recovered = False
    for _ in range(40):  # bounded: BREAKER_RECOVERY_SECONDS (5 s) plus slack
        body = (await quote(gateway, cart((product, quantity)))).json()
        if body["sources"]["carrier-swift"]["status"] == "ok":
            recovered = True
            break
        await asyncio.sleep(0.25)
    assert recovered
    assert body["partial"] is False
    ready = (await gateway.get("/api/checkout/readyz")).json()
    assert ready["details"]["circuit_breakers"]["carrier-swift"]["state"] == "closed"


@pytest.mark.parametrize("partner", ["tax", "fx"])
async def test_tax_or_fx_down_is_503(
    gateway: httpx.AsyncClient, partners: PartnersAdmin, stack: E2EStack, partner: str
) -> None:
    await partners.fault(partner, outage=True)
    # FX rates are cached for a minute: drop the cached copy (setup only) so FX is asked.
    redis = Redis.from_url(stack.env["REDIS_URL"])
    await redis.delete("checkout:fx:EUR")
    await redis.aclose()
    response = await quote(gateway, cart((random.randint(1, 1000), 1), currency="JPY"))
    assert_error_shape(response, 503, "dependency_unavailable")
    assert partner in response.json()["error"]["message"]


async def test_bad_carts_are_4xx(gateway: httpx.AsyncClient, partners: PartnersAdmin) -> None:
    for body, code in (
        (cart(), "validation_error"),
        (cart((1, 0)), "validation_error"),
        (cart((1, 10**9)), "validation_error"),
        (cart((1, 1), currency="XYZ"), "unsupported_currency"),
    ):
        assert_error_shape(await quote(gateway, body), 422, code)
    # A well-formed id of a product that is not in the catalog: the cart conflicts with the
    # catalog's state (409), as an order for it does.
    assert_error_shape(await quote(gateway, cart((10**12, 1))), 409, "unknown_product")
    for partner in ALL_PARTNERS:
        assert await partners.requests(partner) == 0
