"""The popular-products ranking: computed by catalog's periodic job, stored in catalog's Redis.

`refresh_popular` sums the units sold per product over the last `POPULAR_DAYS` days from
orders' export and swaps the top `POPULAR_SIZE` in atomically (a staging key renamed over the
live one, in one MULTI). The key expires after three periods without a refresh, so a ranking
nobody maintains any more disappears instead of going stale for ever. `GET /products/popular`
reads it through `CatalogService.popular`; only this module knows the key.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Final, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from catalog.clients import OrdersClient
from catalog.config import CatalogSettings
from catalog.schemas import PopularProduct

POPULAR_KEY: Final = "catalog:popular"


class PopularRanking:
    """The ranking in Redis: product id -> units sold, best first."""

    def __init__(self, redis: Redis, *, ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    async def top(self, limit: int) -> list[PopularProduct]:
        """The best sellers; empty before the first refresh or with Redis down (a
        nice-to-have never fails the page)."""
        try:
            ranked = cast(
                list[tuple[bytes, float]],
                await self._redis.zrevrange(POPULAR_KEY, 0, limit - 1, withscores=True),
            )
        except (RedisError, OSError, TimeoutError):
            return []
        return [
            PopularProduct(product_id=int(member), units=int(score)) for member, score in ranked
        ]

    async def replace(self, units: dict[int, int]) -> None:
        staging = f"{POPULAR_KEY}:staging:{uuid.uuid4().hex}"
        async with self._redis.pipeline(transaction=True) as pipe:
            if units:
                pipe.zadd(staging, {str(product): count for product, count in units.items()})
                pipe.expire(staging, self._ttl)
                pipe.rename(staging, POPULAR_KEY)
            else:
                pipe.delete(POPULAR_KEY)
            await pipe.execute()


def ranking_for(redis: Redis, settings: CatalogSettings) -> PopularRanking:
    return PopularRanking(redis, ttl_seconds=int(settings.popular_refresh_seconds * 3))


async def refresh_popular(
    orders: OrdersClient,
    ranking: PopularRanking,
    settings: CatalogSettings,
    *,
    now: datetime | None = None,
) -> int:
    """Rebuild the ranking from the last days' orders; returns how many products it holds."""
    until = now or datetime.now(UTC)
    since = until - timedelta(days=settings.popular_days)
    units: Counter[int] = Counter()
    async for line in orders.export(since=since, until=until):
        units[line.product_id] += line.quantity
    top = dict(units.most_common(settings.popular_size))
    await ranking.replace(top)
    return len(top)
