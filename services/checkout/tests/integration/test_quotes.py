"""Checkout against a fake of catalog and the partners process, on the real Redis."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
from redis.asyncio import Redis

from checkout.money import from_base, round_money
from mercato_shared.testing.loopback import free_port
from mercato_shop.testing.partners_admin import PartnersAdmin, overlapped

from ..fake_catalog import eur_product_ids

CARRIERS = ("carrier-swift", "carrier-parcelpost", "carrier-freightline")
ALL_PARTNERS = (*CARRIERS, "tax", "fx")
# Only so that a test cannot wait forever (a hanging partner holds a call for 30 s); every
# property below is proven by answers and by the partners' record of events, not a clock.
SAFETY_SECONDS = 10


def cart(*lines: tuple[int, int], currency: str = "EUR", country: str = "DE") -> dict[str, Any]:
    return {
        "items": [{"product_id": pid, "quantity": qty} for pid, qty in lines],
        "destination": {"country": country, "postal_code": "10115"},
        "currency": currency,
    }


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert "Traceback" not in response.text


async def test_full_quote_adds_up(checkout: httpx.AsyncClient, partners: PartnersAdmin) -> None:
    response = await checkout.post("/quote", json=cart((1, 2), (2, 1), currency="USD"))
    assert response.status_code == 200, response.text
    quote = response.json()
    assert quote["partial"] is False
    assert set(quote["sources"]) == set(ALL_PARTNERS)
    assert {s["status"] for s in quote["sources"].values()} == {"ok"}
    assert [o["carrier"] for o in quote["shipping_options"]] != []
    assert len(quote["shipping_options"]) == 3
    prices = [Decimal(o["price"]) for o in quote["shipping_options"]]
    assert prices == sorted(prices)

    subtotal, tax = Decimal(quote["subtotal"]), Decimal(quote["tax"]["amount"])
    assert quote["tax"]["rate"] == "0.19"
    assert tax == round_money(subtotal * Decimal("0.19"), "EUR")
    rates = {"USD": Decimal(quote["total"]["fx_rate"])}
    expected = from_base(subtotal + tax + prices[0], "USD", rates)
    assert Decimal(quote["total"]["amount"]) == expected
    assert quote["total"]["shipping_carrier"] == quote["shipping_options"][0]["carrier"]
    for partner in ALL_PARTNERS:
        assert await partners.requests(partner) == 1


async def test_fan_out_is_concurrent(
    checkout_for: Any, partners: PartnersAdmin, redis: Redis
) -> None:
    """The five partner calls of a quote are in flight together.

    Every partner holds its request until all five have one (the rendezvous), then answers
    after 50 ms: a quote that called them one after another would get no answer from the
    first within its timeout. The partners' record shows the overlap as an order of events:
    every call of the quote started before any of them ended. (How long a quote takes with
    partners at 50 ms is the benchmark's figure, scenario (d).)
    """
    for partner in ALL_PARTNERS:
        await partners.fault(partner, latency_ms=50, rendezvous=True)
    for quantity in range(1, 4):  # a new parcel each time: no carrier answer from the cache
        await redis.delete("checkout:fx:EUR")  # and FX asked each time (setup only)
        await partners.clear_stats()
        # A checkout that keeps no FX rates in process, so the deleted key is asked again.
        async with (
            asyncio.timeout(SAFETY_SECONDS),
            checkout_for(fx_local_ttl_seconds=0) as checkout,
        ):
            response = await checkout.post("/quote", json=cart((3, quantity), currency="USD"))
        assert response.status_code == 200, response.text
        quote = response.json()
        assert quote["partial"] is False
        assert {s["status"] for s in quote["sources"].values()} == {"ok"}
        assert all(quote["sources"][p]["latency_ms"] >= 50 for p in ALL_PARTNERS)
        calls = await partners.settled_calls()
        assert sorted(c.partner for c in calls) == sorted(ALL_PARTNERS)
        assert {c.outcome for c in calls} == {"answered"}
        assert overlapped(calls), calls


async def test_hanging_carrier_gives_partial_quote_within_deadline(
    checkout_for: Any, partners: PartnersAdmin
) -> None:
    """Checkout gives up on a hanging carrier and answers without it.

    The proof is the partner's side: the carrier's calls end `abandoned` (checkout hung up
    before the carrier answered), the others answered. (The answer's time against the
    deadline is the benchmark's figure, scenario (d) with one carrier hanging.)
    """
    await partners.fault("carrier-freightline", hang=True)
    async with checkout_for(quote_deadline_ms=600, partner_timeout_ms=200) as checkout:
        async with asyncio.timeout(SAFETY_SECONDS):
            response = await checkout.post("/quote", json=cart((4, 1)))
    assert response.status_code == 200, response.text
    quote = response.json()
    assert quote["partial"] is True
    assert quote["sources"]["carrier-freightline"]["status"] == "timeout"
    assert {o["carrier"] for o in quote["shipping_options"]} == {"swift", "parcelpost"}
    calls = await partners.settled_calls(safety_seconds=SAFETY_SECONDS)
    hung = [c.outcome for c in calls if c.partner == "carrier-freightline"]
    assert hung, "the hanging carrier was asked"
    assert set(hung) == {"abandoned"}, calls
    assert {c.outcome for c in calls if c.partner != "carrier-freightline"} == {"answered"}


async def readyz_breaker(checkout: httpx.AsyncClient, partner: str) -> str:
    body = (await checkout.get("/readyz")).json()
    return str(body["details"]["circuit_breakers"][partner]["state"])


async def test_breaker_opens_stops_calls_and_recovers(
    checkout_for: Any, partners: PartnersAdmin
) -> None:
    await partners.fault("carrier-swift", outage=True)
    settings = {
        "breaker_failure_threshold": 3,
        "breaker_recovery_seconds": 0.5,
        "partner_retry_attempts": 1,
    }
    async with checkout_for(**settings) as checkout:
        statuses = []
        for _ in range(6):
            quote = (await checkout.post("/quote", json=cart((5, 1)))).json()
            statuses.append(quote["sources"]["carrier-swift"]["status"])
            assert quote["partial"] is True
        assert statuses == ["error"] * 3 + ["circuit_open"] * 3
        assert await partners.requests("carrier-swift") == 3, "an open breaker makes no call"
        assert await readyz_breaker(checkout, "carrier-swift") == "open"

        await partners.fault("carrier-swift")  # the outage ends
        for _ in range(50):  # wait (bounded) for the recovery time to pass
            if await readyz_breaker(checkout, "carrier-swift") == "half_open":
                break
            await asyncio.sleep(0.05)
        assert await readyz_breaker(checkout, "carrier-swift") == "half_open"
        quote = (await checkout.post("/quote", json=cart((5, 1)))).json()
        assert quote["sources"]["carrier-swift"]["status"] == "ok"
        assert quote["partial"] is False
        assert await readyz_breaker(checkout, "carrier-swift") == "closed"
        assert await partners.requests("carrier-swift") == 4


async def test_tax_or_fx_down_is_503_in_the_error_shape(
    checkout: httpx.AsyncClient, partners: PartnersAdmin
) -> None:
    await partners.fault("tax", outage=True)
    assert_error(await checkout.post("/quote", json=cart((6, 1))), 503, "dependency_unavailable")
    await partners.fault("tax")
    await partners.fault("fx", hang=True)
    response = await checkout.post("/quote", json=cart((6, 1), currency="GBP"))
    assert_error(response, 503, "dependency_unavailable")
    assert "fx" in response.json()["error"]["message"]

    # A cart in EUR priced in EUR needs no conversion: FX being down does not matter.
    eur_id = eur_product_ids()[0]
    response = await checkout.post("/quote", json=cart((eur_id, 1), currency="EUR"))
    assert response.status_code == 200, response.text
    assert "fx" not in response.json()["sources"]


async def test_bad_carts_are_4xx_in_the_error_shape(
    checkout: httpx.AsyncClient, partners: PartnersAdmin
) -> None:
    for body in (
        cart(),
        cart((1, 0)),
        cart((1, 10**9)),
        cart((0, 1)),
        cart((1, 1), country="XX"),
        cart((1, 1), currency="usd"),
        {"items": [{"product_id": 1, "quantity": 1}], "currency": "EUR"},
        cart(*((pid, 1) for pid in range(1, 52))),
    ):
        assert_error(await checkout.post("/quote", json=body), 422, "validation_error")
    assert_error(
        await checkout.post("/quote", json=cart((1, 1), currency="XYZ")),
        422,
        "unsupported_currency",
    )
    response = await checkout.post("/quote", json=cart((1, 1), (999_999, 1)))
    assert_error(response, 409, "unknown_product")
    assert "999999" in response.json()["error"]["message"]
    for partner in ALL_PARTNERS:
        assert await partners.requests(partner) == 0, "a bad cart reaches no partner"


async def test_catalog_down_is_503(checkout_for: Any, partners: PartnersAdmin) -> None:
    async with checkout_for(catalog_url=f"http://127.0.0.1:{free_port()}") as checkout:
        response = await checkout.post("/quote", json=cart((1, 1)))
    assert_error(response, 503, "dependency_unavailable")


async def test_fx_and_carrier_answers_are_cached_with_single_flight(
    checkout: httpx.AsyncClient, partners: PartnersAdmin
) -> None:
    body = cart((7, 2), currency="CHF")
    responses = await asyncio.gather(*(checkout.post("/quote", json=body) for _ in range(10)))
    assert {r.status_code for r in responses} == {200}
    for partner in (*CARRIERS, "fx"):
        assert await partners.requests(partner) == 1, partner
    assert await partners.requests("tax") == 10  # tax is not cached

    again = (await checkout.post("/quote", json=body)).json()
    assert all(again["sources"][p]["cached"] for p in (*CARRIERS, "fx"))
    assert again["total"] == responses[0].json()["total"]
    other = (await checkout.post("/quote", json=cart((7, 3), currency="CHF"))).json()
    assert not other["sources"]["carrier-swift"]["cached"]
    assert other["sources"]["fx"]["cached"]
    assert await partners.requests("fx") == 1


async def test_retries_stay_within_the_deadline(checkout_for: Any, partners: PartnersAdmin) -> None:
    """Tax fails every time: retried with backoff, but never past the quote's deadline."""
    await partners.fault("tax", error_rate=1.0, latency_ms=20)
    settings = {
        "partner_retry_attempts": 5,
        "partner_backoff_ms": 60,
        "quote_deadline_ms": 300,
        "breaker_failure_threshold": 100,
    }
    async with checkout_for(**settings) as checkout:
        async with asyncio.timeout(SAFETY_SECONDS):
            response = await checkout.post("/quote", json=cart((8, 1)))
        assert_error(response, 503, "dependency_unavailable")
        attempts = await partners.requests("tax")
        assert 2 <= attempts < 5, "retried, but the backoff would overrun the deadline"
        # Every attempt but the last ran its course (the partner failed it): the retry loop
        # stopped itself rather than start what the deadline would cut; at most the last
        # one was cut (the deadline ran out during it: the caller hung up). (The answer's
        # time against the deadline is a figure for the benchmark.)
        calls = [c for c in await partners.settled_calls() if c.partner == "tax"]
        assert len(calls) == attempts
        assert {c.outcome for c in calls[:-1]} == {"failed"}
        assert calls[-1].outcome in {"failed", "abandoned"}
