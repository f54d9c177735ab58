"""Catalog's periodic jobs, run inside its own processes and owned by the app's lifespan.

Every replica runs a loop per job; each period, the replicas race for a Redis lease
(`SET catalog:lease:<job> <token> NX PX <ms>`, redis-py's `Lock`) and only the one that takes
it runs the job. The lease lasts 90% of the period and is left to expire after a success, so
one replica runs the job once per period whichever replicas are alive; a replica that dies
while holding it costs at most that period. The job's deadline is 80% of the period: it ends
before its lease does, so two replicas never run it at once and no renewal is needed. A run
that fails gives the lease back (only its own: the lease holds a random token) so the next
tick of any replica tries again. Nothing a job does depends on running exactly once: both
jobs are safe to repeat (the ranking is replaced whole, the sweeper re-checks every row).

Each run is one trace (`mercato_shared.telemetry.periodic_span`): its span `periodic <job>` is
the parent of the job's SQL, Redis and HTTP spans. It is a root span, so the sampler keeps
runs in the same share as requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from opentelemetry.trace import Tracer
from redis.asyncio import Redis
from redis.exceptions import RedisError

from mercato_shared.telemetry import periodic_span

logger = logging.getLogger("mercato.catalog.periodic")

LEASE_SHARE = 0.9
DEADLINE_SHARE = 0.8
FIRST_RUN_WITHIN_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    name: str
    period_seconds: float
    run: Callable[[], Awaitable[object]]

    @property
    def lease_key(self) -> str:
        return f"catalog:lease:{self.name}"


async def run_once(job: PeriodicJob, redis: Redis, tracer: Tracer | None = None) -> bool:
    """Run the job if this process takes its lease for the period; whether it ran (and
    succeeded). Never raises: a failure is logged and the lease given back. The run's span
    comes from `tracer` (by default, the global provider's)."""
    lease = redis.lock(
        job.lease_key,
        timeout=job.period_seconds * LEASE_SHARE,
        blocking=False,
        raise_on_release_error=False,
    )
    try:
        if not await lease.acquire():
            return False
    except (RedisError, OSError, TimeoutError):
        logger.warning("periodic job %s: Redis unavailable, skipped", job.name, exc_info=True)
        return False
    try:
        with periodic_span(job.name, tracer):
            async with asyncio.timeout(job.period_seconds * DEADLINE_SHARE):
                result = await job.run()
    except Exception:
        logger.exception("periodic job %s failed", job.name)
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            await lease.release()
        return False
    logger.info("periodic job %s done", job.name, extra={"result": result})
    return True


async def _loop(job: PeriodicJob, redis: Redis) -> None:
    rng = random.Random()  # noqa: S311 - jitter, not security
    await asyncio.sleep(rng.uniform(0, min(FIRST_RUN_WITHIN_SECONDS, job.period_seconds)))
    while True:
        await run_once(job, redis)
        # Jittered so replicas started together do not all wake in the same instant.
        await asyncio.sleep(job.period_seconds * rng.uniform(0.95, 1.05))


@contextlib.asynccontextmanager
async def running(jobs: Sequence[PeriodicJob], redis: Redis) -> AsyncIterator[None]:
    """Run the jobs' loops for the duration of the block (the app's lifespan)."""
    tasks = [asyncio.create_task(_loop(job, redis), name=f"periodic:{job.name}") for job in jobs]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
