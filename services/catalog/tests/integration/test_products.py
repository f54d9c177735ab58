"""Catalog against the real Postgres and Redis: CRUD, keyset pages, the cache, degradation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from mercato_shared.testing.servers import OwnServer
from mercato_shared.testing.tokens import bearer

Payload = Callable[..., dict[str, Any]]
# Writes need an admin's access token (minted with the development key).
ADMIN = bearer(1, "admin")


async def create(
    client: httpx.AsyncClient, product: Payload, sku: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post("/products", json=product(sku, **fields), headers=ADMIN)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def count_rows(settings: Any) -> int:
    engine = create_async_engine(settings.database_url)
    async with engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM products"))).scalar_one()
    await engine.dispose()
    return int(count)


async def test_create_read_update_delete(client: httpx.AsyncClient, product: Payload) -> None:
    created = await create(client, product, "KIT-0001")
    assert created["price"] == "24.90"
    product_id = created["id"]

    got = await client.get(f"/products/{product_id}")
    assert got.json()["name"] == "Enamel teapot"

    patched = await client.patch(
        f"/products/{product_id}", json={"price": "19.99", "stock": 3}, headers=ADMIN
    )
    assert patched.status_code == 200
    assert (patched.json()["price"], patched.json()["stock"]) == ("19.99", 3)

    assert (await client.delete(f"/products/{product_id}", headers=ADMIN)).status_code == 204
    missing = await client.get(f"/products/{product_id}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


async def test_duplicate_sku_is_409_and_writes_nothing(
    client: httpx.AsyncClient, product: Payload, migrated: Any
) -> None:
    await create(client, product, "KIT-0002")
    response = await client.post("/products", json=product("KIT-0002"), headers=ADMIN)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "duplicate_sku"
    assert await count_rows(migrated) == 1


async def test_bad_input_is_422_and_writes_nothing(
    client: httpx.AsyncClient, product: Payload, migrated: Any
) -> None:
    bad_bodies = [
        product("KIT-0003", price="-1"),
        product("KIT-0003", price="1.999"),
        product("KIT-0003", stock=-1),
        product("KIT-0003", currency="XXX"),
        product("KIT-0003", name="x" * 10_000),
        product("lower-case-sku"),
        product("KIT-0003", unexpected="field"),
        {"sku": "KIT-0003"},
    ]
    for body in bad_bodies:
        response = await client.post("/products", json=body, headers=ADMIN)
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "validation_error"
    assert await count_rows(migrated) == 0


async def test_keyset_pages_cover_everything_once(
    client: httpx.AsyncClient, product: Payload
) -> None:
    for number in range(7):
        category = "garden" if number % 2 else "kitchen"
        await create(client, product, f"KIT-1{number:03d}", category=category)
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/products", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == 7

    garden = (await client.get("/products", params={"category": "garden", "limit": 100})).json()
    assert [item["category"] for item in garden["items"]] == ["garden"] * 3


async def test_bad_cursor_and_limits_are_422(client: httpx.AsyncClient) -> None:
    for params in (
        {"cursor": "not-a-cursor"},
        {"limit": 0},
        {"limit": 101},
        {"category": "Bad Cat"},
    ):
        response = await client.get("/products", params=params)
        assert response.status_code == 422, params


async def test_second_read_comes_from_redis_and_an_update_invalidates_it(
    client: httpx.AsyncClient, product: Payload, product_selects: list[str], redis: Redis
) -> None:
    product_id = (await create(client, product, "KIT-0004"))["id"]
    product_selects.clear()

    first = await client.get(f"/products/{product_id}")
    assert len(product_selects) == 1
    second = await client.get(f"/products/{product_id}")
    assert len(product_selects) == 1, "the second read must not reach Postgres"
    assert first.json() == second.json()
    assert await redis.exists(f"catalog:product:{product_id}") == 1

    await client.patch(f"/products/{product_id}", json={"name": "Copper teapot"}, headers=ADMIN)
    assert await redis.exists(f"catalog:product:{product_id}") == 0
    product_selects.clear()
    third = await client.get(f"/products/{product_id}")
    assert third.json()["name"] == "Copper teapot"
    assert len(product_selects) == 1


async def test_fifty_concurrent_reads_of_a_cold_key_cause_one_query(
    client: httpx.AsyncClient, product: Payload, product_selects: list[str]
) -> None:
    product_id = (await create(client, product, "KIT-0005"))["id"]
    product_selects.clear()
    responses = await asyncio.gather(*(client.get(f"/products/{product_id}") for _ in range(50)))
    assert {response.status_code for response in responses} == {200}
    assert len(product_selects) == 1


async def test_reads_survive_redis_going_away_and_readyz_reports_it(
    client_for: Callable[..., Any],
    settings_for: Callable[..., Any],
    product: Payload,
    product_selects: list[str],
    own_redis: OwnServer,
) -> None:
    settings = settings_for(redis_url=own_redis.url)
    async with client_for(settings) as client:
        product_id = (await create(client, product, "KIT-0006"))["id"]
        unread_id = (await create(client, product, "KIT-0106"))["id"]
        assert (await client.get(f"/products/{product_id}")).status_code == 200
        ready = (await client.get("/readyz")).json()
        assert ready["status"] == "ready"

        own_redis.stop()
        product_selects.clear()
        response = await client.get(f"/products/{unread_id}")
        assert response.status_code == 200
        assert response.json()["sku"] == "KIT-0106"
        assert len(product_selects) == 1, "with Redis gone the read goes to Postgres"
        warm = await client.get(f"/products/{product_id}")
        assert warm.status_code == 200
        assert warm.json()["sku"] == "KIT-0006"

        readiness = await client.get("/readyz")
        assert readiness.status_code == 200
        body = readiness.json()
        assert body["status"] == "degraded"
        assert body["checks"]["redis"]["status"] == "down"
        assert body["checks"]["postgres"]["status"] == "up"

        page = await client.get("/products")
        assert page.status_code == 200


async def test_null_fields_in_a_patch_are_422_and_change_nothing(
    client: httpx.AsyncClient, product: Payload
) -> None:
    created = await create(client, product, "KIT-0007")
    response = await client.patch(
        f"/products/{created['id']}", json={"name": None, "price": None}, headers=ADMIN
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    unchanged = (await client.get(f"/products/{created['id']}")).json()
    assert (unchanged["name"], unchanged["price"]) == (created["name"], created["price"])


async def test_reads_are_public_with_an_entity_tag_and_a_current_tag_is_304(
    client: httpx.AsyncClient, product: Payload
) -> None:
    product_id = (await create(client, product, "KIT-0008"))["id"]
    for path in (f"/products/{product_id}", "/products?category=kitchen"):
        first = await client.get(path)
        assert first.status_code == 200
        assert first.headers["cache-control"] == "public, max-age=1"
        etag = first.headers["etag"]
        again = await client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304, path
        assert again.content == b""
        assert again.headers["etag"] == etag
        other = await client.get(path, headers={"If-None-Match": '"something-else"'})
        assert other.status_code == 200
        assert other.json() == first.json()

    await client.patch(f"/products/{product_id}", json={"stock": 9}, headers=ADMIN)
    changed = await client.get(f"/products/{product_id}", headers={"If-None-Match": etag})
    assert changed.status_code == 200, "a write changes the tag"
    assert changed.json()["stock"] == 9


async def test_a_write_through_one_process_reaches_every_other_processs_copy(
    client_for: Callable[..., Any],
    settings_for: Callable[..., Any],
    product: Payload,
    product_selects: list[str],
) -> None:
    """Two apps on one database and Redis stand for two catalog processes (workers,
    replicas): each keeps its own in-process copy; a write through either drops both."""
    async with client_for(settings_for()) as writer, client_for(settings_for()) as reader:
        product_id = (await create(writer, product, "KIT-0009"))["id"]
        assert (await reader.get(f"/products/{product_id}")).json()["stock"] == 10
        product_selects.clear()
        assert (await reader.get(f"/products/{product_id}")).json()["stock"] == 10
        assert product_selects == [], "the reader's second read is its own copy's"

        await writer.patch(f"/products/{product_id}", json={"stock": 4}, headers=ADMIN)
        # Visible in the reader once the invalidation message arrives (milliseconds); the
        # bound is how long the test waits before it fails.
        for _ in range(500):
            if (await reader.get(f"/products/{product_id}")).json()["stock"] == 4:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the reader still serves the old product after 5 s")

        await writer.delete(f"/products/{product_id}", headers=ADMIN)
        for _ in range(500):
            if (await reader.get(f"/products/{product_id}")).status_code == 404:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the reader still serves a deleted product after 5 s")


async def test_a_list_page_is_its_products_as_read_and_follows_every_write(
    client: httpx.AsyncClient, product: Payload, product_selects: list[str]
) -> None:
    made = [await create(client, product, f"KIT-L{n:03d}", category="toys") for n in range(3)]
    await create(client, product, "KIT-L100", category="books")
    params: dict[str, str | int] = {"category": "toys", "limit": 2}

    first = await client.get("/products", params=params)
    assert first.status_code == 200
    page = first.json()
    assert set(page) == {"items", "next_cursor"}
    assert [item["id"] for item in page["items"]] == [made[0]["id"], made[1]["id"]]
    for item in page["items"]:  # each item is exactly what a read of that product answers
        assert item == (await client.get(f"/products/{item['id']}")).json()
    second_page = await client.get("/products", params={**params, "cursor": page["next_cursor"]})
    assert [item["id"] for item in second_page.json()["items"]] == [made[2]["id"]]
    assert second_page.json()["next_cursor"] is None

    product_selects.clear()
    again = await client.get("/products", params=params)
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    assert not [s for s in product_selects if "products.description" in s], product_selects

    changed = await client.patch(f"/products/{made[0]['id']}", json={"stock": 7}, headers=ADMIN)
    assert changed.status_code == 200, changed.text
    items = (await client.get("/products", params=params)).json()["items"]
    assert items[0]["stock"] == 7

    newcomer = await create(client, product, "KIT-L200", category="toys")
    ids = [
        item["id"]
        for item in (await client.get("/products", params={"category": "toys"})).json()["items"]
    ]
    assert ids == sorted([*(p["id"] for p in made), newcomer["id"]])

    assert (await client.delete(f"/products/{made[1]['id']}", headers=ADMIN)).status_code == 204
    ids = [
        item["id"]
        for item in (await client.get("/products", params={"category": "toys"})).json()["items"]
    ]
    assert made[1]["id"] not in ids
    assert len(ids) == 3
