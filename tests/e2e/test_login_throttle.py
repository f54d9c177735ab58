"""One account's password guesser, spread over many addresses, ends in 429s while other
accounts keep logging in: identity's per-account throttle, through the gateway.

Each guess comes from its own loopback address (127.0.0.N), which the gateway hands to
identity as the client address; the suite's gateway raises its per-address limits, so only
identity's per-account count can refuse them.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.e2e.conftest import E2EStack
from tests.e2e.test_gateway_catalog import assert_error_shape
from tests.e2e.test_identity_orders import login

pytestmark = pytest.mark.e2e

PASSWORD = "e2e throttle password"


async def _register(gateway: httpx.AsyncClient) -> str:
    email = f"e2e-throttle-{uuid.uuid4().hex[:12]}@example.com"
    body = {"email": email, "password": PASSWORD, "display_name": "E2E"}
    response = await gateway.post("/api/identity/users", json=body)
    assert response.status_code == 201, response.text
    return email


async def test_sixty_guesses_from_twenty_addresses_end_in_429s(
    stack: E2EStack, gateway: httpx.AsyncClient
) -> None:
    victim, bystander = await _register(gateway), await _register(gateway)
    statuses: list[int] = []
    last: httpx.Response | None = None
    for n in range(60):
        address = f"127.0.0.{20 + n % 20}"
        transport = httpx.AsyncHTTPTransport(local_address=address)
        async with httpx.AsyncClient(base_url=stack.gateway, transport=transport) as client:
            last = await client.post(
                "/api/identity/token",
                data={"grant_type": "password", "username": victim, "password": f"guess-{n}"},
            )
            statuses.append(last.status_code)

    assert set(statuses) == {401, 429}
    assert statuses.count(401) <= 5  # the first tier: five failures a minute
    assert statuses[-1] == 429
    assert last is not None
    assert_error_shape(last, 429, "login_throttled")
    assert int(last.headers["retry-after"]) >= 1
    # The right password is refused too while the account is throttled ...
    refused = await gateway.post(
        "/api/identity/token",
        data={"grant_type": "password", "username": victim, "password": PASSWORD},
    )
    assert refused.status_code == 429
    # ... and another account logs in as usual.
    assert await login(gateway, bystander, PASSWORD)
