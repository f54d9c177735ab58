"""An in-process copy of a Redis cache's entries, dropped in every process on invalidation.

A read served from here costs no Redis round trip: no command encoded, no socket read, no
client span. What keeps it correct is the invalidation channel (Redis pub/sub, one channel
per cache namespace): `Cache.invalidate` evicts the keys here, deletes them in Redis and
publishes them (every `Cache`, with a near copy or not, so a job's writes reach the
readers); every process's listener evicts them from its own copy when the message arrives
(milliseconds on a healthy Redis).

The copy is used only while the listener is subscribed. When the subscription breaks (Redis
restarts, the connection drops) every entry is dropped and reads go to Redis until the
listener has subscribed again, because messages published meanwhile are lost. A load that
started before an invalidation arrived does not put its (possibly older) value here: every
eviction moves `generation` on, and `put` stores only under the generation read before the
load. The entries' TTL (`CACHE_LOCAL_TTL_SECONDS`) caps what a process could serve if its
subscription died without an error (a half-open connection).

redis-py's client-side caching (RESP3 tracking) would do the same job and is the library's
own mechanism, but it exists only for the synchronous client; the services use asyncio.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Final

from cachetools import TTLCache
from redis.asyncio import ConnectionPool, Redis
from redis.exceptions import RedisError

logger = logging.getLogger("mercato.cache")
_ERRORS: Final = (RedisError, OSError, TimeoutError)
_POLL_SECONDS: Final = 1.0
_RETRY_SECONDS: Final = 1.0


def invalidation_channel(redis: Redis, namespace: str) -> str:
    """The channel `Cache.invalidate` publishes a namespace's evicted keys on.

    Pub/sub channels are server-wide, not per database: the database number keeps the
    stacks that share one Redis server (each on its own database) apart.
    """
    return f"{namespace}:invalidations@{redis.connection_pool.connection_kwargs.get('db', 0)}"


@dataclass(frozen=True, slots=True)
class Entry:
    """A cached body and its strong HTTP entity tag (a digest of the bytes)."""

    body: bytes
    etag: str

    @classmethod
    def of(cls, body: bytes) -> Entry:
        return cls(body, f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"')


class NearCache:
    def __init__(
        self, redis: Redis, *, namespace: str, ttl_seconds: float, max_entries: int
    ) -> None:
        self._redis = redis
        # The subscription holds a connection for as long as it lives: its own pool, so that
        # it never takes one of the pool the commands share (and bound).
        pool = redis.connection_pool
        self._listener_pool = ConnectionPool(
            connection_class=pool.connection_class, max_connections=1, **pool.connection_kwargs
        )
        self._channel = invalidation_channel(redis, namespace)
        self._entries: TTLCache[str, Entry] = TTLCache(maxsize=max_entries, ttl=ttl_seconds)
        self._live = False
        self._stopping = asyncio.Event()
        self.generation = 0

    @property
    def live(self) -> bool:
        """True while subscribed to the invalidation channel (entries are served)."""
        return self._live

    def get(self, key: str) -> Entry | None:
        return self._entries.get(key) if self._live else None

    def put(self, key: str, entry: Entry, generation: int) -> None:
        """Keep `entry` unless something was evicted since `generation` was read."""
        if self._live and generation == self.generation:
            self._entries[key] = entry

    def evict(self, keys: Iterable[str]) -> None:
        """Drop the keys; a key ending in `*` drops every entry it is the prefix of."""
        self.generation += 1
        for key in keys:
            if key.endswith("*"):
                prefix = key[:-1]
                for cached in [k for k in self._entries if k.startswith(prefix)]:
                    self._entries.pop(cached, None)
            else:
                self._entries.pop(key, None)

    @asynccontextmanager
    async def listening(self) -> AsyncIterator[None]:
        """Run the listener for the duration of the block (the app's lifespan)."""
        self._stopping.clear()
        task = asyncio.create_task(self._listen(), name=f"near-cache:{self._channel}")
        try:
            yield
        finally:
            # The flag as well as the cancellation: Python 3.11's asyncio.timeout can turn a
            # cancellation that meets a read's own timeout into a TimeoutError.
            self._stopping.set()
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
            await self._listener_pool.disconnect()

    def _drop_all(self) -> None:
        self.generation += 1
        self._entries.clear()

    async def _listen(self) -> None:
        while not self._stopping.is_set():
            try:
                async with Redis(connection_pool=self._listener_pool).pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    while not self._stopping.is_set():
                        message = await pubsub.get_message(timeout=_POLL_SECONDS)
                        if message is None:
                            continue
                        if message["type"] == "subscribe":
                            self._drop_all()
                            self._live = True
                        elif message["type"] == "message":
                            self.evict(bytes(message["data"]).decode().split("\n"))
            except _ERRORS as exc:
                if self._live:  # once per outage, not once per retry
                    logger.warning(
                        "cache invalidation channel lost; reading through Redis until it is back",
                        extra={"channel": self._channel, "error": repr(exc)},
                    )
            finally:
                self._live = False
                self._drop_all()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), _RETRY_SECONDS)
