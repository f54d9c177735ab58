"""Whether the reports a mixed-load step submitted were produced in time.

A step of (g) holds only when every report accepted during it succeeded within
`GRACE_SECONDS` of the step's end. The jobs are read from the reports service's own
database (the bench stack's `DATABASE_PREFIX`), by when they were created.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from mercato_shared.settings import BaseServiceSettings

GRACE_SECONDS = 120.0
POLL_SECONDS = 2.0

_COUNTS = """
SELECT count(*) AS accepted,
       count(*) FILTER (WHERE status = 'succeeded' AND finished_at <= $3) AS in_time,
       count(*) FILTER (WHERE status IN ('queued', 'running')) AS pending
FROM report_jobs
WHERE created_at >= $1 AND created_at <= $2
"""


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    accepted: int
    in_time: int
    pending: int

    @property
    def held(self) -> bool:
        return self.in_time == self.accepted

    def describe(self) -> str:
        return f"reports {self.in_time}/{self.accepted} done within {GRACE_SECONDS:.0f} s"


def reports_dsn(env: Mapping[str, str]) -> str:
    """asyncpg's DSN of the reports database the stack of `env` uses."""
    default = BaseServiceSettings.model_fields["postgres_url"].default
    server = env.get("POSTGRES_URL", default).replace("+asyncpg", "", 1)
    return f"{server}/{env.get('DATABASE_PREFIX', '')}reports"


async def _outcome(dsn: str, start: datetime, end: datetime) -> ReportOutcome:
    deadline = end + timedelta(seconds=GRACE_SECONDS)
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        while True:
            row = await connection.fetchrow(_COUNTS, start, end, deadline)
            assert row is not None
            outcome = ReportOutcome(row["accepted"], row["in_time"], row["pending"])
            if outcome.pending == 0 or datetime.now(UTC) >= deadline:
                return outcome
            await asyncio.sleep(POLL_SECONDS)
    finally:
        await connection.close()


def report_outcome(env: Mapping[str, str], start: float, end: float) -> ReportOutcome:
    """The reports created between `start` and `end` (Unix times) and how many of them
    succeeded by `end` + the grace; waits until none is pending or the grace is over."""
    return asyncio.run(
        _outcome(
            reports_dsn(env),
            datetime.fromtimestamp(start, UTC),
            datetime.fromtimestamp(end, UTC),
        )
    )
