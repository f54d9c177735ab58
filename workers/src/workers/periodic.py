"""The periodic job run by the beat scheduler on the `periodic` queue.

The sweeper makes Postgres, not Redis, the memory of the system: a job whose message was
lost (Redis flushed or restarted) stays `queued` past `SWEEP_QUEUED_AFTER_SECONDS` and is
published again; a job whose worker died stays `running` with a heartbeat older than the
lease and is put back to `queued` and published again. Duplicates are harmless: a run
must claim the job first, and completing it writes at most one result.

The popular-products ranking is catalog's data and catalog's own periodic job.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reports.repository import JobRepository
from workers.config import WorkerSettings

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
