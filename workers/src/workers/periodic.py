"""Periodic jobs run by the beat scheduler on the `periodic` queue.

* The sweeper makes Postgres, not Redis, the memory of the system: a job whose message was
  lost (Redis flushed or restarted) stays `queued` past `SWEEP_QUEUED_AFTER_SECONDS` and is
  published again; a job whose worker died stays `running` with a heartbeat older than the
  lease and is put back to `queued` and published again. Duplicates are harmless: a run
  must claim the job first, and completing it writes at most one result.
* The popular-products ranking: units sold per product over the last days, from the orders
  export, written as a Redis sorted set (`catalog:popular`) that expires if not refreshed.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reports.repository import JobRepository
from workers.config import WorkerSettings
from workers.report_job import OrderSource

POPULAR_KEY = "catalog:popular"  # also in catalog.api.POPULAR_KEY, which reads it

logger = logging.getLogger("mercato.workers.periodic")


async def sweep(
    sessions: async_sessionmaker[AsyncSession],
    settings: WorkerSettings,
    enqueue: Callable[[uuid.UUID], Awaitable[None]],
) -> int:
    """Re-enqueue every stuck job; returns how many."""
    async with sessions() as session:
        stuck = await JobRepository(session).take_stuck(
            queued_for=settings.sweep_queued_after_seconds,
            lease_seconds=settings.report_lease_seconds,
            limit=settings.sweep_batch,
        )
    for job_id in stuck:
        await enqueue(job_id)
    if stuck:
        logger.warning("re-enqueued stuck report jobs", extra={"count": len(stuck)})
    return len(stuck)


async def refresh_popular(
    orders: OrderSource, redis: Redis, settings: WorkerSettings, *, now: datetime | None = None
) -> int:
    """Rebuild the ranking and swap it in atomically; returns how many products it holds."""
    until = now or datetime.now(UTC)
    since = until - timedelta(days=settings.popular_days)
    units: Counter[int] = Counter()
    async for order in orders.export(since=since, until=until):
        for line in order.lines:
            units[line.product_id] += line.quantity
    top = dict(units.most_common(settings.popular_size))
    ttl = int(settings.popular_refresh_seconds * 3)
    staging = f"{POPULAR_KEY}:staging:{uuid.uuid4().hex}"
    async with redis.pipeline(transaction=True) as pipe:
        if top:
            pipe.zadd(staging, {str(product): count for product, count in top.items()})
            pipe.expire(staging, ttl)
            pipe.rename(staging, POPULAR_KEY)
        else:
            pipe.delete(POPULAR_KEY)
        await pipe.execute()
    return len(top)
