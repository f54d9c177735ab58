"""Cache-aside over Redis: TTLs, explicit invalidation, single flight, graceful degradation."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from typing import Final, TypeVar, cast

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation
from pydantic import TypeAdapter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from mercato_shared.near_cache import Entry, NearCache, invalidation_channel

T = TypeVar("T")

logger = logging.getLogger("mercato.cache")
_CACHE_ERRORS: Final = (RedisError, OSError, TimeoutError)
_WARN_EVERY_SECONDS: Final = 5.0


# Lookups by (cache name, result) in this process. The hot path adds to a plain integer;
# the SDK reads the totals only when it exports (an SDK `Counter.add` per lookup, with its
# attribute hashing and locking, cost more than the lookup's own bookkeeping).
_LOOKUPS: Counter[tuple[str, str]] = Counter()


def _observe_lookups(_: CallbackOptions) -> Iterable[Observation]:
    for (name, result), count in list(_LOOKUPS.items()):
        yield Observation(count, {"cache.name": name, "result": result})


@functools.cache
def _register_lookup_counter() -> None:
    """Create the `mercato.cache.requests` instrument once per process."""
    metrics.get_meter("mercato.cache").create_observable_counter(
        "mercato.cache.requests",
        callbacks=[_observe_lookups],
        description="Cache lookups by result (hit, miss, error).",
    )


class Cache:
    """Read-through cache for one namespace of keys.

    * A hit returns the cached JSON, validated back into the caller's type
      (`get_or_load`), or the bytes themselves with an entity tag (`get_or_load_entry`:
      what an HTTP read serves, without validating and serialising the value again).
    * With `near`, an in-process copy answers first (`mercato_shared.near_cache`: entries
      dropped in every process by `invalidate`); a hit there costs no Redis round trip.
    * Concurrent misses on one key in this process share a single load (single flight):
      fifty requests for a cold product cost one database read.
    * The load runs as its own task, so a caller that goes away does not cancel it for the
      others waiting on it.
    * Redis failing or slow (the client's socket timeout bounds it) is a miss: the value is
      loaded from the source and a warning is logged at most every few seconds. Slower,
      never broken.
    * `invalidate` deletes the keys and drops an in-flight load's right to write, so a load
      that read the old row just before a write cannot put it back into the cache.
    """

    def __init__(
        self, redis: Redis, *, namespace: str, ttl_seconds: int, near: NearCache | None = None
    ) -> None:
        self._redis = redis
        self._namespace = namespace
        self._ttl = ttl_seconds
        self._near = near
        self._channel = invalidation_channel(redis, namespace)
        self._inflight: dict[str, asyncio.Task[bytes | None]] = {}
        self._last_warning = 0.0
        _register_lookup_counter()

    def key(self, key: str) -> str:
        return f"{self._namespace}:{key}"

    async def get_or_load(
        self,
        key: str,
        loader: Callable[[], Awaitable[T | None]],
        adapter: TypeAdapter[T],
        *,
        ttl_seconds: int | None = None,
    ) -> T | None:
        """Return the cached value for `key`, or load it once, cache it and return it.

        `None` from the loader (nothing found) is returned but not cached.
        """

        async def load_json() -> bytes | None:
            value = await loader()
            return None if value is None else adapter.dump_json(value)

        raw = await self.get_or_load_bytes(key, load_json, ttl_seconds=ttl_seconds)
        return None if raw is None else adapter.validate_json(raw)

    async def get_or_load_entry(
        self,
        key: str,
        loader: Callable[[], Awaitable[bytes | None]],
        *,
        ttl_seconds: int | None = None,
    ) -> Entry | None:
        """The cached bytes for `key` with their entity tag, from the in-process copy first."""
        full_key = self.key(key)
        near = self._near
        if near is not None and (entry := near.get(full_key)) is not None:
            self._record("hit")
            return entry
        generation = 0 if near is None else near.generation
        raw = await self.get_or_load_bytes(key, loader, ttl_seconds=ttl_seconds)
        if raw is None:
            return None
        entry = Entry.of(raw)
        if near is not None:
            near.put(full_key, entry, generation)
        return entry

    async def get_or_load_bytes(
        self,
        key: str,
        loader: Callable[[], Awaitable[bytes | None]],
        *,
        ttl_seconds: int | None = None,
    ) -> bytes | None:
        """The cached bytes for `key`, or `loader`'s, loaded once and cached (None: not cached)."""
        full_key = self.key(key)
        cached = await self._get(full_key)
        if cached is not None:
            return cached
        task = self._inflight.get(full_key)
        if task is None:
            task = asyncio.create_task(
                self._load(full_key, loader, ttl_seconds or self._ttl),
                name=f"cache-load:{full_key}",
            )
            self._inflight[full_key] = task
            task.add_done_callback(lambda done: self._forget(full_key, done))
        return await asyncio.shield(task)

    async def invalidate(self, *keys: str) -> None:
        full_keys = [self.key(k) for k in keys]
        for full_key in full_keys:
            self._inflight.pop(full_key, None)
        if self._near is not None:
            self._near.evict(full_keys)
        try:
            # One round trip: the delete, and every process's in-process copy drops them
            # (mercato_shared.near_cache).
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.delete(*full_keys)
                pipe.publish(self._channel, "\n".join(full_keys))
                await pipe.execute()
        except _CACHE_ERRORS as exc:
            self._warn("cache invalidation failed; entries expire by TTL", exc)

    async def _load(
        self, full_key: str, loader: Callable[[], Awaitable[bytes | None]], ttl: int
    ) -> bytes | None:
        raw = await loader()
        if raw is None:
            return None
        if self._inflight.get(full_key) is asyncio.current_task():
            try:
                await self._redis.set(full_key, raw, ex=ttl)
            except _CACHE_ERRORS as exc:
                self._warn("cache write failed", exc)
        return raw

    async def _get(self, full_key: str) -> bytes | None:
        try:
            raw = cast(bytes | None, await self._redis.get(full_key))
        except _CACHE_ERRORS as exc:
            self._record("error")
            self._warn("cache read failed; reading from the source", exc)
            return None
        self._record("miss" if raw is None else "hit")
        return raw

    def _forget(self, full_key: str, task: asyncio.Task[bytes | None]) -> None:
        if self._inflight.get(full_key) is task:
            del self._inflight[full_key]

    def _record(self, result: str) -> None:
        _LOOKUPS[self._namespace, result] += 1

    def _warn(self, message: str, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._last_warning >= _WARN_EVERY_SECONDS:
            self._last_warning = now
            logger.warning(message, extra={"cache": self._namespace, "error": repr(exc)})
