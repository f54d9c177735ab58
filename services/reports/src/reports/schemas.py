"""Reports request and response bodies, with strict input limits."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from mercato_shared.json_types import JSON_DATE, JSON_INTEGER

MAX_PERIOD_DAYS = 366
Kind = Literal["sales", "purchases"]
Status = Literal["queued", "running", "succeeded", "failed"]


class ReportRequest(BaseModel):
    """A report over the `days` days from `start` (UTC dates).

    Written as a start and a length, every period the schema admits is one the server
    takes: there is no end before the start to refuse. A period that reaches past today
    covers the orders that exist when the job runs (the job's `finished_at` says when).
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"kind": "purchases", "start": "2026-11-01", "days": 30},
                {"kind": "sales", "start": "2026-01-01", "days": MAX_PERIOD_DAYS},
            ]
        },
    )

    kind: Kind = Field(
        description="`sales`: every order (admins only); `purchases`: your own orders."
    )
    start: Annotated[date, Field(description="The first day of the period."), JSON_DATE]
    days: Annotated[
        int, Field(ge=1, le=MAX_PERIOD_DAYS, description="Its length in days."), JSON_INTEGER
    ]

    @property
    def end(self) -> date:
        """The day after the period (exclusive); the last date there is, at the far end."""
        if (date.max - self.start).days < self.days:
            return date.max
        return self.start + timedelta(days=self.days)


class Period(BaseModel):
    start: date
    end: date


class ReportJobOut(BaseModel):
    id: uuid.UUID
    kind: Kind
    status: Status
    period: Period
    attempts: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cpu_seconds: float | None = Field(description="CPU time the successful run spent.")
    trace_id: str | None = Field(
        default=None,
        description=(
            "Trace of the request that submitted the job, when it was sampled: the publish "
            "and every run of the job are spans of it (open it in Grafana's Tempo view)."
        ),
    )
