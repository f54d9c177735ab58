"""The in-process copy in front of Redis: served locally, dropped in every process on a write.

Two `Cache` objects on one Redis database stand for two processes of a service: each has its
own `NearCache` and listener, as each uvicorn worker or replica would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import pytest
from redis.asyncio import Redis

from mercato_shared.cache import Cache
from mercato_shared.near_cache import Entry, NearCache
from mercato_shared.testing.redis_databases import redis_url_of
from mercato_shared.testing.servers import OwnServer

TEST_REDIS_URL = redis_url_of("shared")
# How long a test waits for an invalidation message before it fails (a bound, not a timing).
DELIVERY_BOUND_SECONDS = 5.0
POLL_SECONDS = 0.005


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(int(DELIVERY_BOUND_SECONDS / POLL_SECONDS)):
        if condition():
            return
        await asyncio.sleep(POLL_SECONDS)
    pytest.fail(f"not reached within {DELIVERY_BOUND_SECONDS} s")


class Loader:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.calls = 0

    async def load(self) -> bytes | None:
        self.calls += 1
        return self.body


def process(redis: Redis) -> tuple[Cache, NearCache]:
    near = NearCache(redis, namespace="t", ttl_seconds=60, max_entries=100)
    return Cache(redis, namespace="t", ttl_seconds=60, near=near), near


@asynccontextmanager
async def listening_pair(
    redis: Redis,
) -> AsyncIterator[tuple[tuple[Cache, NearCache], tuple[Cache, NearCache]]]:
    """Two processes' caches of one namespace (a writer, a reader), both subscribed."""
    writer, reader = process(redis), process(redis)
    async with AsyncExitStack() as stack:
        for _, near in (writer, reader):
            await stack.enter_async_context(near.listening())
        await until(lambda: writer[1].live and reader[1].live)
        yield writer, reader


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(TEST_REDIS_URL, socket_timeout=1)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


async def test_a_hit_is_served_in_process_with_its_entity_tag(redis: Redis) -> None:
    cache, near = process(redis)
    async with near.listening():
        await until(lambda: near.live)
        loader = Loader(b'{"id":1}')
        first = await cache.get_or_load_entry("item:1", loader.load)
        assert first == Entry.of(b'{"id":1}')
        assert first is not None
        assert first.etag.startswith('"')
        assert first.etag.endswith('"')
        await redis.delete("t:item:1")  # behind the cache's back: no invalidation message
        assert await cache.get_or_load_entry("item:1", loader.load) is first
        assert loader.calls == 1


async def test_an_invalidation_in_one_process_reaches_the_others(redis: Redis) -> None:
    async with listening_pair(redis) as ((writer, _), (reader, reader_near)):
        loader = Loader(b"old")
        assert await reader.get_or_load_entry("item:2", loader.load) == Entry.of(b"old")
        assert reader_near.get("t:item:2") is not None

        loader.body = b"new"
        await writer.invalidate("item:2")
        await until(lambda: reader_near.get("t:item:2") is None)
        assert await reader.get_or_load_entry("item:2", loader.load) == Entry.of(b"new")
        assert loader.calls == 2


async def test_a_load_overtaken_by_an_invalidation_is_not_kept_in_process(redis: Redis) -> None:
    cache, near = process(redis)
    async with near.listening():
        await until(lambda: near.live)
        started = asyncio.Event()
        release = asyncio.Event()

        async def slow_old_row() -> bytes | None:
            started.set()
            await release.wait()
            return b"old"

        pending = asyncio.create_task(cache.get_or_load_entry("item:3", slow_old_row))
        await started.wait()
        await cache.invalidate("item:3")  # a write committed while the old row was read
        release.set()
        assert await pending == Entry.of(b"old")
        assert near.get("t:item:3") is None
        assert await redis.exists("t:item:3") == 0


async def test_without_its_channel_a_process_reads_through_redis(own_redis: OwnServer) -> None:
    client = Redis.from_url(own_redis.url, socket_timeout=0.25, socket_connect_timeout=0.25)
    cache, near = process(client)
    async with near.listening():
        await until(lambda: near.live)
        loader = Loader(b"value")
        await cache.get_or_load_entry("item:4", loader.load)
        assert near.get("t:item:4") is not None

        own_redis.stop()
        await until(lambda: not near.live)
        assert near.get("t:item:4") is None, "messages may be lost: the copy is dropped"
        assert await cache.get_or_load_entry("item:4", loader.load) == Entry.of(b"value")
        assert loader.calls == 2, "with Redis gone the read goes to the source"
        await cache.invalidate("item:4")  # does not raise either
    await client.aclose()


async def test_local_entries_are_dropped_by_prefix_in_every_process(redis: Redis) -> None:
    async with listening_pair(redis) as ((writer, _), (reader, reader_near)):
        loader = Loader(b"[1,2]")
        for key in ("pages:a:1", "pages:b:1", "other:1"):
            assert await reader.get_or_load_local(key, loader.load) == Entry.of(b"[1,2]")
        assert await redis.get("t:pages:a:1") is None  # kept in process only
        assert loader.calls == 3
        await reader.get_or_load_local("pages:a:1", loader.load)
        assert loader.calls == 3

        await writer.invalidate("pages:*")
        await until(lambda: reader_near.get("t:pages:a:1") is None)
        assert reader_near.get("t:pages:b:1") is None
        assert reader_near.get("t:other:1") is not None


async def test_many_entries_come_from_process_redis_then_one_load(redis: Redis) -> None:
    cache, near = process(redis)
    async with near.listening():
        await until(lambda: near.live)
        await redis.set("t:item:2", b"two-in-redis")
        asked: list[list[str]] = []

        async def load_many(keys: list[str]) -> dict[str, bytes]:
            asked.append(keys)
            return {key: key.encode() for key in keys if key != "item:4"}

        entries = await cache.get_or_load_entries(["item:1", "item:2", "item:4"], load_many)
        assert entries == [Entry.of(b"item:1"), Entry.of(b"two-in-redis"), None]
        assert asked == [["item:1", "item:4"]]
        assert await redis.get("t:item:1") == b"item:1"  # written back for the others
        again = await cache.get_or_load_entries(["item:1", "item:2"], load_many)
        assert again == entries[:2]
        assert asked == [["item:1", "item:4"]]  # both served in process
