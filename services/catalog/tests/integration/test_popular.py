"""GET /products/popular reads the ranking catalog's periodic job keeps in Redis."""

from __future__ import annotations

import httpx
from redis.asyncio import Redis

from catalog.popular import POPULAR_KEY


async def test_popular_products_come_best_first_and_are_empty_before_a_refresh(
    client: httpx.AsyncClient, redis: Redis
) -> None:
    empty = await client.get("/products/popular")
    assert empty.status_code == 200
    assert empty.json() == []

    await redis.zadd(POPULAR_KEY, {"7": 12, "3": 40, "9": 5})
    response = await client.get("/products/popular", params={"limit": 2})
    assert response.json() == [{"product_id": 3, "units": 40}, {"product_id": 7, "units": 12}]
    assert (await client.get("/products/popular", params={"limit": 0})).status_code == 422
