"""How many report jobs one customer may have: in flight at once, and submitted per hour.

A report is seconds of a worker's CPU; without a bound one customer's burst fills the queue
and every other job waits behind it. A customer past either bound is answered 429
`too_many_reports` with `Retry-After`: for the hourly bound, the seconds until the oldest job
of the hour leaves it; for the in-flight bound, a short wait (`REPORT_QUOTA_RETRY_SECONDS`),
as a running job's end cannot be foretold. Admins' reports (the operators' own) are not
counted. The count and the insert run in one transaction under a per-owner advisory lock
(`JobRepository.admit`), so concurrent submissions cannot both pass a bound; the
`(owner, created_at)` index serves both counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from reports.errors import TooManyReportsError

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ReportQuota:
    max_in_flight: int
    max_per_hour: int
    retry_seconds: int

    def check(self, now: datetime, recent: Sequence[datetime], in_flight: int) -> None:
        """Raise TooManyReportsError when an owner with jobs created at `recent` (within the
        hour before `now`) and `in_flight` jobs queued or running may submit no other."""
        if len(recent) >= self.max_per_hour:
            wait = (min(recent) + HOUR - now).total_seconds()
            raise TooManyReportsError(
                f"At most {self.max_per_hour} reports an hour.",
                retry_after=max(1, math.ceil(wait)),
            )
        if in_flight >= self.max_in_flight:
            raise TooManyReportsError(
                f"At most {self.max_in_flight} reports may be queued or running at once.",
                retry_after=self.retry_seconds,
            )
