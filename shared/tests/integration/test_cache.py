"""Cache-aside against a real Redis (database 15 of the shared server, or a private one)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pydantic import BaseModel, TypeAdapter
from redis.asyncio import Redis

from mercato_shared.cache import Cache
from mercato_shared.testing.redis_databases import redis_url_of
from mercato_shared.testing.servers import OwnServer

TEST_REDIS_URL = redis_url_of("shared")


class Item(BaseModel):
    id: int
    name: str


ITEM = TypeAdapter(Item)


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(TEST_REDIS_URL, socket_timeout=1)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


class CountingLoader:
    def __init__(self, value: Item | None, delay: float = 0.0) -> None:
        self.value = value
        self.delay = delay
        self.calls = 0

    async def load(self) -> Item | None:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return self.value


async def test_second_read_is_a_hit_and_invalidation_forces_a_reload(redis: Redis) -> None:
    cache = Cache(redis, namespace="t", ttl_seconds=60)
    loader = CountingLoader(Item(id=1, name="kettle"))
    assert await cache.get_or_load("item:1", loader.load, ITEM) == Item(id=1, name="kettle")
    assert await cache.get_or_load("item:1", loader.load, ITEM) == Item(id=1, name="kettle")
    assert loader.calls == 1
    assert 0 < await redis.ttl("t:item:1") <= 60

    await cache.invalidate("item:1")
    assert await redis.exists("t:item:1") == 0
    loader.value = Item(id=1, name="teapot")
    assert await cache.get_or_load("item:1", loader.load, ITEM) == Item(id=1, name="teapot")
    assert loader.calls == 2


async def test_fifty_concurrent_misses_load_once(redis: Redis) -> None:
    cache = Cache(redis, namespace="t", ttl_seconds=60)
    loader = CountingLoader(Item(id=2, name="lamp"), delay=0.05)

    async def read() -> Item | None:
        value = await cache.get_or_load("item:2", loader.load, ITEM)
        return value

    results = await asyncio.gather(*(read() for _ in range(50)))
    assert loader.calls == 1
    assert all(result == Item(id=2, name="lamp") for result in results)


async def test_missing_values_are_not_cached(redis: Redis) -> None:
    cache = Cache(redis, namespace="t", ttl_seconds=60)
    loader = CountingLoader(None)
    assert await cache.get_or_load("item:3", loader.load, ITEM) is None
    assert await redis.exists("t:item:3") == 0


async def test_a_load_overtaken_by_an_invalidation_does_not_write_stale_data(redis: Redis) -> None:
    cache = Cache(redis, namespace="t", ttl_seconds=60)
    loader = CountingLoader(Item(id=4, name="old"), delay=0.1)
    read = cache.get_or_load("item:4", loader.load, ITEM)
    pending = asyncio.create_task(read)
    await asyncio.sleep(0.02)
    await cache.invalidate("item:4")  # a write happened while the old row was being read
    assert await pending == Item(id=4, name="old")
    assert await redis.exists("t:item:4") == 0


async def test_loader_errors_reach_every_waiter_and_are_not_cached(redis: Redis) -> None:
    cache = Cache(redis, namespace="t", ttl_seconds=60)

    async def failing() -> Item | None:
        await asyncio.sleep(0.01)
        msg = "database down"
        raise ConnectionError(msg)

    async def read() -> Item | None:
        value = await cache.get_or_load("item:5", failing, ITEM)
        return value

    results = await asyncio.gather(*(read() for _ in range(5)), return_exceptions=True)
    assert all(isinstance(result, ConnectionError) for result in results)
    assert await redis.exists("t:item:5") == 0


async def test_redis_down_means_slower_not_broken(own_redis: OwnServer) -> None:
    client = Redis.from_url(own_redis.url, socket_timeout=0.25, socket_connect_timeout=0.25)
    cache = Cache(client, namespace="t", ttl_seconds=60)
    loader = CountingLoader(Item(id=6, name="mug"))
    assert await cache.get_or_load("item:6", loader.load, ITEM) == Item(id=6, name="mug")
    own_redis.stop()
    assert await cache.get_or_load("item:6", loader.load, ITEM) == Item(id=6, name="mug")
    assert loader.calls == 2
    await cache.invalidate("item:6")  # does not raise either
    await client.aclose()
