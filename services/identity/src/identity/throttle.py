"""Failed password logins per account, counted in Redis and shared by every replica.

An account that has had too many failed logins recently is refused with 429 and
`Retry-After` before any password hash is computed, whichever address the attempts come
from. The limits are tiers (`LOGIN_FAILURE_LIMITS`, e.g. 5 a minute, 20 an hour, 100 a
day), each a moving window: a guesser who keeps failing waits longer and longer, while a
person who mistypes a few times waits a minute at most. A successful login clears the
account's count. Unknown e-mail addresses are counted like known ones, so a 429 says nothing
about whether an account exists.

The counting is the `limits` library's moving window on Redis (one Lua script per call).
When Redis cannot be reached, a password login is a 503 (`dependency_unavailable`): it is
never let through uncounted.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from limits import RateLimitItem, parse_many
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from identity.errors import LoginThrottledError
from mercato_shared.errors import DependencyUnavailableError

NAMESPACE = "login-failures"


class LoginThrottle:
    def __init__(self, redis: Redis, limits: str, *, key_prefix: str = "mercato") -> None:
        # The storage shares the service's Redis connection pool (and its timeouts).
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            key_prefix=f"{key_prefix}:limits",
            connection_pool=redis.connection_pool,  # type: ignore[arg-type]
        )
        self._limiter = MovingWindowRateLimiter(storage)
        self._limits: Sequence[RateLimitItem] = parse_many(limits)

    async def check(self, account: str) -> None:
        """Raise `LoginThrottledError` when any tier has no attempt left for `account`."""
        wait = 0.0
        async with _redis_needed():
            for item in self._limits:
                if not await self._limiter.test(item, NAMESPACE, account):
                    stats = await self._limiter.get_window_stats(item, NAMESPACE, account)
                    wait = max(wait, stats.reset_time - time.time())
        if wait > 0:
            raise LoginThrottledError(retry_after=max(1, math.ceil(wait)))

    async def failed(self, account: str) -> None:
        async with _redis_needed():
            for item in self._limits:
                await self._limiter.hit(item, NAMESPACE, account)

    async def succeeded(self, account: str) -> None:
        async with _redis_needed():
            for item in self._limits:
                await self._limiter.clear(item, NAMESPACE, account)


@asynccontextmanager
async def _redis_needed() -> AsyncIterator[None]:
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError) as exc:
        msg = "Logins are unavailable for a moment; retry shortly."
        raise DependencyUnavailableError(msg) from exc
