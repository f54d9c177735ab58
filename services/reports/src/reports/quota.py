"""How many report jobs one customer may have: in flight at once, and submitted per hour.

A report is seconds of a worker's CPU; without a bound one customer's burst fills the queue
and every other job waits behind it. A customer past either bound is answered 429
`too_many_reports` with `Retry-After`: for the hourly bound, the seconds until the oldest job
of the hour leaves it; for the in-flight bound, a short wait (`REPORT_QUOTA_RETRY_SECONDS`),
as a running job's end cannot be foretold. Admins' reports (the operators' own) are not
counted. The count and the insert run in one transaction under a per-owner advisory lock,
so concurrent submissions cannot both pass a bound; the `(owner, created_at)` index serves
both counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reports.errors import TooManyReportsError
from reports.models import ReportJob

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ReportQuota:
    max_in_flight: int
    max_per_hour: int
    retry_seconds: int

    async def admit(self, session: AsyncSession, owner: str) -> None:
        """Lock the owner's count until the transaction ends, or raise TooManyReportsError.

        Call it in the transaction that inserts the job: the lock is released by its commit.
        """
        await session.execute(
            select(func.pg_advisory_xact_lock(func.hashtext("report-quota:" + owner)))
        )
        now: datetime = (await session.execute(select(func.now()))).scalar_one()
        recent = select(ReportJob.created_at, ReportJob.status).where(
            ReportJob.owner == owner, ReportJob.created_at > now - HOUR
        )
        rows = (await session.execute(recent)).all()
        in_flight = await session.scalar(
            select(func.count()).where(
                ReportJob.owner == owner, ReportJob.status.in_(("queued", "running"))
            )
        )
        if len(rows) >= self.max_per_hour:
            oldest = min(created for created, _ in rows)
            wait = (oldest + HOUR - now).total_seconds()
            raise TooManyReportsError(
                f"At most {self.max_per_hour} reports an hour.",
                retry_after=max(1, math.ceil(wait)),
            )
        if (in_flight or 0) >= self.max_in_flight:
            raise TooManyReportsError(
                f"At most {self.max_in_flight} reports may be queued or running at once.",
                retry_after=self.retry_seconds,
            )
