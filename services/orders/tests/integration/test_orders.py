"""Orders against the real Postgres, and fakes of catalog and identity (over HTTP, in process)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from mercato_shared.testing.tokens import bearer
from orders.config import OrdersSettings
from orders.schemas import OrderCreate, OrderOut

from ..conftest import orders_settings
from ..fake_catalog import FakeCatalog

ClientFor = Callable[[OrdersSettings], AbstractAsyncContextManager[httpx.AsyncClient]]


def service_token() -> dict[str, str]:
    return bearer("reports", "service")


CUSTOMER, OTHER = bearer(7), bearer(8)


async def make_product(
    catalog: FakeCatalog, sku: str, stock: int = 100, price: str = "10.00", currency: str = "EUR"
) -> int:
    return catalog.add_product(sku, stock, price, currency)


async def count(settings: OrdersSettings, table: str) -> int:
    engine = create_async_engine(settings.database_url)
    async with engine.connect() as conn:
        value = (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
    await engine.dispose()
    return int(value)


def order(*lines: tuple[int, int]) -> dict[str, Any]:
    return {"items": [{"product_id": pid, "quantity": qty} for pid, qty in lines]}


async def test_an_order_is_priced_by_catalog_and_takes_stock(
    client: httpx.AsyncClient, catalog: FakeCatalog
) -> None:
    kettle = await make_product(catalog, "KIT-O001", stock=5, price="19.90")
    mug = await make_product(catalog, "KIT-O002", stock=5, price="4.25")
    response = await client.post("/orders", json=order((kettle, 2), (mug, 3)), headers=CUSTOMER)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["total"] == "52.55"
    assert body["user_id"] == 7
    assert {item["product_id"]: item["unit_price"] for item in body["items"]} == {
        kettle: "19.90",
        mug: "4.25",
    }
    assert catalog.stock(kettle) == 3
    fetched = await client.get(f"/orders/{body['id']}", headers=CUSTOMER)
    assert fetched.json() == body


async def test_lines_of_one_product_are_one_line(
    client: httpx.AsyncClient, catalog: FakeCatalog
) -> None:
    kettle = await make_product(catalog, "KIT-O014", stock=5, price="10.00")
    response = await client.post("/orders", json=order((kettle, 2), (kettle, 1)), headers=CUSTOMER)
    assert response.status_code == 201, response.text
    assert [(i["product_id"], i["quantity"]) for i in response.json()["items"]] == [(kettle, 3)]
    assert response.json()["total"] == "30.00"
    assert catalog.stock(kettle) == 2


async def test_idempotency_key_replays_and_refuses_another_body(
    client: httpx.AsyncClient, catalog: FakeCatalog, migrated: OrdersSettings
) -> None:
    kettle = await make_product(catalog, "KIT-O003", stock=10)
    headers = CUSTOMER | {"Idempotency-Key": "order-abc-1"}
    first = await client.post("/orders", json=order((kettle, 1)), headers=headers)
    second = await client.post("/orders", json=order((kettle, 1)), headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json() == second.json()
    assert await count(migrated, "orders") == 1
    assert catalog.stock(kettle) == 9

    reused = await client.post("/orders", json=order((kettle, 2)), headers=headers)
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    # Keys are per user: another customer may use the same key for their own order.
    mine = await client.post(
        "/orders", json=order((kettle, 1)), headers=OTHER | {"Idempotency-Key": "order-abc-1"}
    )
    assert mine.status_code == 201
    assert mine.json()["id"] != first.json()["id"]


async def test_concurrent_duplicates_with_one_key_create_one_order(
    client: httpx.AsyncClient, catalog: FakeCatalog, migrated: OrdersSettings
) -> None:
    kettle = await make_product(catalog, "KIT-O004", stock=10)
    headers = CUSTOMER | {"Idempotency-Key": "dup-key"}
    responses = await asyncio.gather(
        *(client.post("/orders", json=order((kettle, 1)), headers=headers) for _ in range(5))
    )
    created = [r for r in responses if r.status_code == 201]
    assert created, [r.text for r in responses]
    assert {r.json()["id"] for r in created} == {created[0].json()["id"]}
    assert {r.status_code for r in responses} <= {201, 409}
    assert await count(migrated, "orders") == 1
    assert catalog.stock(kettle) == 9


async def test_a_claim_left_by_a_dead_request_is_taken_over_without_taking_stock_twice(
    client: httpx.AsyncClient, catalog: FakeCatalog, migrated: OrdersSettings
) -> None:
    """A request claimed its key, reserved stock in catalog, then its process died."""
    kettle = await make_product(catalog, "KIT-O010", stock=10)
    body = OrderCreate.model_validate(order((kettle, 2)))
    reservation_id = uuid.uuid4()
    transport = httpx.ASGITransport(app=catalog.app)  # the test's own call to the fake
    async with httpx.AsyncClient(transport=transport, base_url="http://catalog") as http:
        reserved = await http.post(
            "/reservations",
            json={"id": str(reservation_id), "lines": [{"product_id": kettle, "quantity": 2}]},
            headers=service_token(),
        )
    assert reserved.status_code == 201, reserved.text
    engine = create_async_engine(migrated.database_url)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO idempotency_keys (user_id, key, request_hash, reservation_id, "
                "created_at) VALUES (7, 'crashed-1', :hash, :rid, now() - interval '10 minutes')"
            ),
            {"hash": body.fingerprint(), "rid": reservation_id},
        )
    await engine.dispose()

    headers = CUSTOMER | {"Idempotency-Key": "crashed-1"}
    retried = await client.post("/orders", json=order((kettle, 2)), headers=headers)
    assert retried.status_code == 201, retried.text
    assert await count(migrated, "orders") == 1
    assert catalog.stock(kettle) == 8, "taken once"
    replayed = await client.post("/orders", json=order((kettle, 2)), headers=headers)
    assert replayed.json()["id"] == retried.json()["id"]


async def test_a_fresh_claim_in_progress_is_409(
    client: httpx.AsyncClient, catalog: FakeCatalog, migrated: OrdersSettings
) -> None:
    kettle = await make_product(catalog, "KIT-O011", stock=10)
    body = OrderCreate.model_validate(order((kettle, 1)))
    engine = create_async_engine(migrated.database_url)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO idempotency_keys (user_id, key, request_hash, reservation_id, "
                "lease_until) VALUES (7, 'running-1', :hash, :rid, now() + interval '1 minute')"
            ),
            {"hash": body.fingerprint(), "rid": uuid.uuid4()},
        )
    await engine.dispose()
    headers = CUSTOMER | {"Idempotency-Key": "running-1"}
    response = await client.post("/orders", json=order((kettle, 1)), headers=headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_in_progress"
    assert response.headers["retry-after"] == "1"  # once the first request has finished
    assert await count(migrated, "orders") == 0


async def test_parallel_orders_never_oversell(
    client: httpx.AsyncClient, catalog: FakeCatalog, migrated: OrdersSettings
) -> None:
    scarce = await make_product(catalog, "KIT-O005", stock=5)
    responses = await asyncio.gather(
        *(
            client.post("/orders", json=order((scarce, 1)), headers=bearer(100 + n))
            for n in range(20)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 5 + [409] * 15
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "out_of_stock"
    }
    assert await count(migrated, "orders") == 5
    assert catalog.stock(scarce) == 0


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        ({}, {}, 422, "validation_error"),
        (order(), {}, 422, "validation_error"),
        ({"items": [{"product_id": 1}]}, {}, 422, "validation_error"),
        (order((1, -1)), {}, 422, "validation_error"),
        (order((1, 0)), {}, 422, "validation_error"),
        (order((1, 1001)), {}, 422, "validation_error"),
        (order(*((n, 1) for n in range(1, 10_001))), {}, 422, "validation_error"),
        (order((999_999, 1)), {}, 409, "unknown_product"),
        ({"items": [{"product_id": "x" * 100_000, "quantity": 1}]}, {}, 422, "validation_error"),
        (order((1, 1)) | {"total": "0.01"}, {}, 422, "validation_error"),
        (order((1, 1)), {"Idempotency-Key": "k" * 256}, 422, "validation_error"),
        (order((1, 1)), {"Idempotency-Key": "spaces are bad"}, 422, "validation_error"),
    ],
)
async def test_bad_input_is_4xx_and_writes_nothing(
    client: httpx.AsyncClient,
    catalog: FakeCatalog,
    migrated: OrdersSettings,
    body: dict[str, Any],
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    product = await make_product(catalog, "KIT-O006", stock=5)
    assert product == 1
    response = await client.post("/orders", json=body, headers=CUSTOMER | headers)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert await count(migrated, "orders") == 0
    assert await count(migrated, "idempotency_keys") == 0
    assert catalog.stock(product) == 5


async def test_mixed_currencies_are_refused_and_the_stock_given_back(
    client: httpx.AsyncClient, catalog: FakeCatalog, migrated: OrdersSettings
) -> None:
    euro = await make_product(catalog, "KIT-O007", stock=5)
    dollar = await make_product(catalog, "KIT-O008", stock=5, currency="USD")
    response = await client.post("/orders", json=order((euro, 1), (dollar, 1)), headers=CUSTOMER)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "mixed_currencies"
    assert await count(migrated, "orders") == 0
    assert catalog.stock(euro) == 5


async def test_another_users_order_is_404_and_auth_is_required(
    client: httpx.AsyncClient, catalog: FakeCatalog
) -> None:
    kettle = await make_product(catalog, "KIT-O009")
    created = (await client.post("/orders", json=order((kettle, 1)), headers=CUSTOMER)).json()
    assert (await client.get(f"/orders/{created['id']}", headers=OTHER)).status_code == 404
    assert (await client.get("/orders/999999", headers=OTHER)).status_code == 404
    anonymous = await client.get("/orders")
    assert anonymous.status_code == 401
    assert "www-authenticate" in anonymous.headers
    machine = await client.post("/orders", json=order((kettle, 1)), headers=service_token())
    assert machine.status_code == 403


@pytest.mark.parametrize("orders_count", [1, 50])
async def test_listing_costs_two_statements_whatever_the_size(
    client: httpx.AsyncClient,
    catalog: FakeCatalog,
    statements: list[str],
    orders_count: int,
) -> None:
    products = [await make_product(catalog, f"KIT-P{n:03d}", stock=1000) for n in range(3)]
    for n in range(orders_count):
        lines = [(pid, 1 + n % 3) for pid in products[: 1 + n % 3]]
        assert (
            await client.post("/orders", json=order(*lines), headers=CUSTOMER)
        ).status_code == 201
    await client.post("/orders", json=order((products[0], 1)), headers=OTHER)

    statements.clear()
    page = await client.get("/orders", params={"limit": 100}, headers=CUSTOMER)
    assert page.status_code == 200
    body = page.json()
    assert len(body["items"]) == orders_count
    assert body["next_cursor"] is None
    assert all(item["items"] for item in body["items"])
    assert len(statements) == 2, statements


async def test_keyset_pages_cover_every_order_once(
    client: httpx.AsyncClient, catalog: FakeCatalog
) -> None:
    kettle = await make_product(catalog, "KIT-O010", stock=100)
    for _ in range(7):
        await client.post("/orders", json=order((kettle, 1)), headers=CUSTOMER)
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/orders", params=params, headers=CUSTOMER)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True)
    assert len(set(seen)) == 7
    bad = await client.get("/orders", params={"cursor": "garbage"}, headers=CUSTOMER)
    assert bad.status_code == 422


def export_window(**extra: Any) -> dict[str, Any]:
    """Export parameters for the two hours around now, two orders a page."""
    now = datetime.now(UTC)
    return {
        "since": (now - timedelta(hours=1)).isoformat(),
        "until": (now + timedelta(hours=1)).isoformat(),
        "limit": 2,
    } | extra


def export_caller() -> dict[str, str]:
    return bearer("reports", "service")


async def two_export_pages(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> tuple[httpx.Response, httpx.Response]:
    """The first page and the one its cursor names (the second and last)."""
    first = await client.get("/orders/export", params=params, headers=export_caller())
    assert first.status_code == 200, first.text
    second = await client.get(
        "/orders/export",
        params=params | {"cursor": first.json()["next_cursor"]},
        headers=export_caller(),
    )
    return first, second


async def test_export_pages_for_reports(client: httpx.AsyncClient, catalog: FakeCatalog) -> None:
    kettle = await make_product(catalog, "KIT-O011", stock=100)
    for user in (1, 2, 3):
        await client.post("/orders", json=order((kettle, 1)), headers=bearer(user))
    params, service = export_window(), export_caller()
    first, second = await two_export_pages(client, params)
    exported = first.json()["items"] + second.json()["items"]
    assert sorted(o["user_id"] for o in exported) == [1, 2, 3]
    for item in exported:  # Postgres's JSON of an order is what a read of it answers
        read = await client.get(f"/orders/{item['id']}", headers=bearer(item["user_id"]))
        assert OrderOut.model_validate(item) == OrderOut.model_validate(read.json())
        assert set(item) == set(read.json())
    assert second.json()["next_cursor"] is None
    refused = await client.get("/orders/export", params=params, headers=CUSTOMER)
    assert refused.status_code == 403
    # [since, until) with until <= since holds nothing: an empty page, not an error.
    empty = params | {"until": params["since"]}
    nothing = await client.get("/orders/export", params=empty, headers=service)
    assert nothing.json() == {"items": [], "next_cursor": None}
    naive = params | {"since": "2026-01-01T00:00:00"}
    assert (await client.get("/orders/export", params=naive, headers=service)).status_code == 422


async def test_export_of_one_user_reads_only_that_users_orders(
    client: httpx.AsyncClient, catalog: FakeCatalog
) -> None:
    kettle = await make_product(catalog, "KIT-O012", stock=100)
    for user in (1, 2, 2, 3, 2):
        await client.post("/orders", json=order((kettle, 1)), headers=bearer(user))
    params, service = export_window(user_id=2), export_caller()
    first, second = await two_export_pages(client, params)
    assert second.json()["next_cursor"] is None
    users = [o["user_id"] for o in first.json()["items"] + second.json()["items"]]
    assert users == [2, 2, 2]
    nobody = await client.get("/orders/export", params=params | {"user_id": 99}, headers=service)
    assert nobody.json() == {"items": [], "next_cursor": None}
    for bad in (0, -1, "x", 2**53):
        refused = await client.get(
            "/orders/export", params=params | {"user_id": bad}, headers=service
        )
        assert refused.status_code == 422


async def test_a_sibling_route_is_not_an_order_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/orders/reservation-lookup", headers=CUSTOMER)
    assert (response.status_code, response.headers["allow"]) == (405, "POST")


async def test_catalog_down_is_503_dependency_unavailable(
    migrated: OrdersSettings, client_for: ClientFor
) -> None:
    settings = migrated.model_copy(
        update={
            "catalog_url": "http://127.0.0.1:9",
            "identity_url": "http://127.0.0.1:9",
            "catalog_retry_attempts": 2,
        }
    )
    async with client_for(settings) as c:
        response = await c.post("/orders", json=order((1, 1)), headers=CUSTOMER)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "dependency_unavailable"


async def test_reservation_lookup_names_the_reservations_orders_were_written_with(
    client: httpx.AsyncClient, catalog: FakeCatalog
) -> None:
    kettle = await make_product(catalog, "KIT-O090", stock=5)
    created = await client.post("/orders", json=order((kettle, 1)), headers=CUSTOMER)
    assert created.status_code == 201, created.text
    engine = create_async_engine(orders_settings().database_url)
    async with engine.connect() as conn:
        written = (await conn.execute(text("SELECT reservation_id FROM orders"))).scalar_one()
    await engine.dispose()
    unknown = uuid.uuid4()
    body = {"reservation_ids": [str(written), str(unknown)]}

    found = await client.post("/orders/reservation-lookup", json=body, headers=service_token())
    assert found.status_code == 200
    assert found.json() == {"ordered": [str(written)]}
    for headers, status in ((CUSTOMER, 403), ({}, 401)):
        refused = await client.post("/orders/reservation-lookup", json=body, headers=headers)
        assert refused.status_code == status
    empty = await client.post(
        "/orders/reservation-lookup", json={"reservation_ids": []}, headers=service_token()
    )
    assert empty.status_code == 422
