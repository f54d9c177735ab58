"""Admin-only writes and stock reservations against the real Postgres and Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from mercato_shared.testing.tokens import bearer

Payload = Callable[..., dict[str, Any]]


ADMIN, CUSTOMER, SERVICE = bearer(1, "admin"), bearer(2), bearer("orders", "service")


async def make(client: httpx.AsyncClient, product: Payload, sku: str, stock: int) -> int:
    response = await client.post("/products", json=product(sku, stock=stock), headers=ADMIN)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def stock_of(client: httpx.AsyncClient, product_id: int) -> int:
    return int((await client.get(f"/products/{product_id}")).json()["stock"])


def reservation(*lines: tuple[int, int], rid: uuid.UUID | None = None) -> dict[str, Any]:
    return {
        "id": str(rid or uuid.uuid4()),
        "lines": [{"product_id": pid, "quantity": qty} for pid, qty in lines],
    }


async def test_writes_need_an_admin_and_reads_stay_public(
    client: httpx.AsyncClient, product: Payload
) -> None:
    anonymous = await client.post("/products", json=product("KIT-A001"))
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    customer = await client.post("/products", json=product("KIT-A001"), headers=CUSTOMER)
    assert customer.status_code == 403
    assert customer.json()["error"]["code"] == "forbidden"
    product_id = await make(client, product, "KIT-A001", 5)
    for method in ("PATCH", "DELETE"):
        refused = await client.request(
            method, f"/products/{product_id}", json={"stock": 1}, headers=CUSTOMER
        )
        assert refused.status_code == 403
    assert (await client.get(f"/products/{product_id}")).status_code == 200
    assert (await client.get("/products")).status_code == 200


async def test_reserve_is_atomic_idempotent_and_releasable(
    client: httpx.AsyncClient, product: Payload
) -> None:
    first = await make(client, product, "KIT-R001", 5)
    second = await make(client, product, "KIT-R002", 2)
    await client.get(f"/products/{first}")  # warm the cache: a reservation must evict it

    body = reservation((second, 2), (first, 3))
    made = await client.post("/reservations", json=body, headers=SERVICE)
    assert made.status_code == 201, made.text
    lines = made.json()["lines"]
    assert [(line["product_id"], line["quantity"]) for line in lines] == [(first, 3), (second, 2)]
    assert lines[0]["unit_price"] == "24.90"
    assert (await stock_of(client, first), await stock_of(client, second)) == (2, 0)

    again = await client.post("/reservations", json=body, headers=SERVICE)
    assert again.status_code == 200
    assert again.json() == made.json()
    assert await stock_of(client, first) == 2, "a retried reservation takes nothing twice"

    other = await client.post(
        "/reservations", json=reservation((first, 1), rid=uuid.UUID(body["id"])), headers=SERVICE
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "reservation_conflict"

    for _ in range(2):
        released = await client.delete(f"/reservations/{body['id']}", headers=SERVICE)
        assert released.status_code == 204
    assert (await stock_of(client, first), await stock_of(client, second)) == (5, 2)


async def test_out_of_stock_takes_nothing_and_names_the_product(
    client: httpx.AsyncClient, product: Payload
) -> None:
    plenty = await make(client, product, "KIT-R003", 10)
    scarce = await make(client, product, "KIT-R004", 1)
    response = await client.post(
        "/reservations", json=reservation((plenty, 4), (scarce, 2)), headers=SERVICE
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "out_of_stock"
    assert str(scarce) in response.json()["error"]["message"]
    assert (await stock_of(client, plenty), await stock_of(client, scarce)) == (10, 1)


async def test_unknown_products_and_bad_lines_are_refused(
    client: httpx.AsyncClient, product: Payload
) -> None:
    known = await make(client, product, "KIT-R005", 3)
    unknown = await client.post(
        "/reservations", json=reservation((known, 1), (999_999, 1)), headers=SERVICE
    )
    assert unknown.status_code == 409
    assert unknown.json()["error"]["code"] == "unknown_product"
    for bad in (
        reservation((known, 0)),
        reservation((known, 100_001)),
        reservation((known, 1), (known, 1)),
        reservation(*((pid, 1) for pid in range(1, 102))),
        {"id": "not-a-uuid", "lines": [{"product_id": known, "quantity": 1}]},
        {"id": str(uuid.uuid4()), "lines": []},
    ):
        response = await client.post("/reservations", json=bad, headers=SERVICE)
        assert response.status_code == 422, bad
    assert await stock_of(client, known) == 3


async def test_only_machine_clients_reserve(client: httpx.AsyncClient, product: Payload) -> None:
    known = await make(client, product, "KIT-R006", 3)
    for headers, status in (({}, 401), (CUSTOMER, 403), (ADMIN, 403)):
        response = await client.post("/reservations", json=reservation((known, 1)), headers=headers)
        assert response.status_code == status


async def test_a_late_reservation_after_its_release_is_refused(
    client: httpx.AsyncClient, product: Payload
) -> None:
    known = await make(client, product, "KIT-R007", 3)
    rid = uuid.uuid4()
    assert (await client.delete(f"/reservations/{rid}", headers=SERVICE)).status_code == 204
    late = await client.post(
        "/reservations", json=reservation((known, 1), rid=rid), headers=SERVICE
    )
    assert late.status_code == 409
    assert await stock_of(client, known) == 3


async def test_concurrent_reservations_never_oversell(
    client: httpx.AsyncClient, product: Payload
) -> None:
    scarce = await make(client, product, "KIT-R008", 5)
    other = await make(client, product, "KIT-R009", 100)
    bodies = [
        reservation((scarce, 1), (other, 1)) if n % 2 else reservation((other, 1), (scarce, 1))
        for n in range(20)
    ]
    responses = await asyncio.gather(
        *(client.post("/reservations", json=body, headers=SERVICE) for body in bodies)
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * 5 + [409] * 15
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "out_of_stock"
    }
    assert (await stock_of(client, scarce), await stock_of(client, other)) == (0, 95)
