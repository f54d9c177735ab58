"""Reports request and response bodies, with strict input limits."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_PERIOD_DAYS = 366
Kind = Literal["sales", "purchases"]
Status = Literal["queued", "running", "succeeded", "failed"]


class ReportRequest(BaseModel):
    """A report over `[start, end)`: `end` is exclusive, so one day is `end = start + 1`."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind = Field(
        description="`sales`: every order (admins only); `purchases`: your own orders."
    )
    start: date
    end: date

    @model_validator(mode="after")
    def _sane_period(self) -> ReportRequest:
        if self.end <= self.start:
            msg = "end must be after start"
            raise ValueError(msg)
        if (self.end - self.start).days > MAX_PERIOD_DAYS:
            msg = f"the period may span at most {MAX_PERIOD_DAYS} days"
            raise ValueError(msg)
        if self.end > datetime.now(UTC).date() + timedelta(days=1):
            msg = "the period may not end after today"
            raise ValueError(msg)
        return self


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
