"""The gateway's micro-cache of public catalog reads: what it stores, and how stale it may be.

A product write is visible through the gateway once the cached copy's max-age (the catalog's
`Cache-Control: public, max-age=1`) has passed on nginx's clock, which counts whole seconds:
a copy stored at 10.9 s is valid until the clock reads 12, so up to max-age + 1 s. The first
read after that refreshes it.
"""

from __future__ import annotations

import asyncio

import httpx

from tests.e2e.test_identity_orders import admin, new_product

MAX_AGE_SECONDS = 1
#: nginx stores a copy's expiry as whole seconds (the time it was stored, truncated, plus
#: max-age) and compares it with its whole-second clock.
CLOCK_RESOLUTION_SECONDS = 1
# Past the bound by a margin: a sleep can only be longer than asked, never shorter.
PAST_THE_BOUND = MAX_AGE_SECONDS + CLOCK_RESOLUTION_SECONDS + 0.5


async def test_a_write_is_visible_through_the_gateway_within_the_max_age(
    gateway: httpx.AsyncClient,
) -> None:
    administrator = await admin(gateway)
    product = await new_product(gateway, administrator, stock=7)
    path = f"/api/catalog/products/{product}"
    first = await gateway.get(path)
    assert first.headers["cache-control"] == f"public, max-age={MAX_AGE_SECONDS}"
    assert first.headers["x-cache-status"] in {"MISS", "EXPIRED"}
    assert first.headers["x-request-id"]

    patched = await gateway.patch(path, json={"stock": 3}, headers=administrator)
    assert patched.status_code == 200
    await asyncio.sleep(PAST_THE_BOUND)
    assert (await gateway.get(path)).json()["stock"] == 3


async def test_credentials_and_traces_reach_the_service_and_errors_are_not_stored(
    gateway: httpx.AsyncClient,
) -> None:
    administrator = await admin(gateway)
    product = await new_product(gateway, administrator, stock=1)
    path = f"/api/catalog/products/{product}"
    traced = {"traceparent": f"00-{'ab' * 16}-{'cd' * 8}-01"}
    for headers in (administrator, traced):
        response = await gateway.get(path, headers=headers)
        assert response.status_code == 200
        assert response.headers["x-cache-status"] == "BYPASS"
    for _ in range(2):
        missing = await gateway.get("/api/catalog/products/999999999")
        assert missing.status_code == 404
        assert missing.headers["x-cache-status"] == "MISS", "a 404 carries no Cache-Control"
