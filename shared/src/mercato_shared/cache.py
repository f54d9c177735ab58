"""Cache-aside over Redis: TTLs, explicit invalidation, single flight, graceful degradation."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
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
        # Moves on with every `invalidate` here: a batch load writes back only if it did not.
        self._epoch = 0
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
        known_missing: bool = False,
    ) -> T | None:
        """Return the cached value for `key`, or load it once, cache it and return it.

        `None` from the loader (nothing found) is returned but not cached.
        """

        async def load_json() -> bytes | None:
            value = await loader()
            return None if value is None else adapter.dump_json(value)

        raw = await self.get_or_load_bytes(
            key, load_json, ttl_seconds=ttl_seconds, known_missing=known_missing
        )
        return None if raw is None else adapter.validate_json(raw)

    async def get_or_load_entry(
        self,
        key: str,
        loader: Callable[[], Awaitable[bytes | None]],
        *,
        ttl_seconds: int | None = None,
    ) -> Entry | None:
        """The cached bytes for `key` with their entity tag, from the in-process copy first."""
        return await self._in_process_or(
            key, lambda: self.get_or_load_bytes(key, loader, ttl_seconds=ttl_seconds)
        )

    async def _in_process_or(
        self, key: str, load: Callable[[], Awaitable[bytes | None]]
    ) -> Entry | None:
        """The in-process copy's entry, or `load`'s bytes, kept there unless an eviction
        happened meanwhile."""
        full_key = self.key(key)
        near = self._near
        if near is not None and (entry := near.get(full_key)) is not None:
            self._record("hit")
            return entry
        generation = 0 if near is None else near.generation
        raw = await load()
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
        known_missing: bool = False,
    ) -> bytes | None:
        """The cached bytes for `key`, or `loader`'s, loaded once and cached (None: not cached).

        `known_missing`: the caller has just found nothing in Redis (`get_many`), so the
        load starts (or joins the one in flight) without asking again."""
        full_key = self.key(key)
        cached = None if known_missing else await self._get(full_key)
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

    async def get_or_load_local(
        self, key: str, loader: Callable[[], Awaitable[bytes | None]]
    ) -> Entry | None:
        """An entry kept only in this process's copy (never in Redis): derived data that is
        cheap to rebuild and invalidated by prefix (`invalidate("listings:*")`). Without a
        live copy every call loads."""

        async def load() -> bytes | None:
            self._record("miss")
            return await loader()

        return await self._in_process_or(key, load)

    async def get_or_load_entries(
        self, keys: Sequence[str], loader: Callable[[list[str]], Awaitable[Mapping[str, bytes]]]
    ) -> list[Entry | None]:
        """The entries of many keys, in their order (None: the loader found nothing).

        The in-process copy answers first; the rest come from Redis in one `MGET`, and what
        Redis lacks from one call of `loader` (given those keys, it returns what it found).
        Loaded values are written back (Redis, then the copy) only while no invalidation has
        happened since the load began, so a load that raced a write cannot cache old data.
        """
        near = self._near
        generation = (0 if near is None else near.generation, self._epoch)
        found: dict[str, Entry] = {}
        missing: list[str] = []
        for key in keys:
            full_key = self.key(key)
            entry = near.get(full_key) if near is not None else None
            if entry is None:
                missing.append(key)
            else:
                found[key] = entry
        if found:
            _LOOKUPS[self._namespace, "hit"] += len(found)
        if missing:
            await self._fill(missing, loader, found, generation)
        return [found.get(key) for key in keys]

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The cached bytes of many keys in one round trip (`MGET`), None where absent."""
        return await self._mget([self.key(key) for key in keys])

    async def _mget(self, full_keys: list[str]) -> list[bytes | None]:
        try:
            cached = cast(list[bytes | None], await self._redis.mget(full_keys))
        except _CACHE_ERRORS as exc:
            self._record("error")
            self._warn("cache read failed; reading from the source", exc)
            return [None] * len(full_keys)
        found = sum(raw is not None for raw in cached)
        _LOOKUPS[self._namespace, "hit"] += found
        _LOOKUPS[self._namespace, "miss"] += len(cached) - found
        return cached

    async def _fill(
        self,
        keys: list[str],
        loader: Callable[[list[str]], Awaitable[Mapping[str, bytes]]],
        found: dict[str, Entry],
        generation: tuple[int, int],
    ) -> None:
        near = self._near
        cached = await self._mget([self.key(k) for k in keys])
        absent = [key for key, raw in zip(keys, cached, strict=True) if raw is None]
        loaded = dict(await loader(absent)) if absent else {}
        near_generation, epoch = generation
        for key, raw in zip(keys, cached, strict=True):
            body = raw if raw is not None else loaded.get(key)
            if body is None:
                continue
            found[key] = entry = Entry.of(body)
            if near is not None:
                near.put(self.key(key), entry, near_generation)
        if loaded and epoch == self._epoch:
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for key, body in loaded.items():
                        pipe.set(self.key(key), body, ex=self._ttl)
                    await pipe.execute()
            except _CACHE_ERRORS as exc:
                self._warn("cache write failed", exc)

    async def invalidate(self, *keys: str) -> None:
        """Drop the keys here, in Redis and in every process's copy. A key ending in `*`
        drops every local entry it is the prefix of (`get_or_load_local`)."""
        full_keys = [self.key(k) for k in keys]
        self._epoch += 1
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
