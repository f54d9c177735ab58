"""Reports tables: the job record (the source of truth) and its one result.

The reports service owns these tables and their migrations; the Celery workers are the
service's back end and import these models and `reports.repository` to move a job through
its states. Nobody else reads them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

STATUSES = ("queued", "running", "succeeded", "failed")
KINDS = ("sales", "purchases")


class Base(DeclarativeBase):
    pass


class ReportJob(Base):
    __tablename__ = "report_jobs"
    __table_args__ = (
        CheckConstraint(f"status IN {STATUSES}", name="ck_report_jobs_status"),
        CheckConstraint(f"kind IN {KINDS}", name="ck_report_jobs_kind"),
        CheckConstraint("period_end > period_start", name="ck_report_jobs_period"),
        # The sweeper's two scans: queued jobs by last enqueue, running jobs by heartbeat.
        Index(
            "ix_report_jobs_queued",
            "enqueued_at",
            postgresql_where="status = 'queued'",
        ),
        Index(
            "ix_report_jobs_running",
            "heartbeat_at",
            postgresql_where="status = 'running'",
        ),
        # Each submission counts its owner's recent jobs (reports.quota).
        Index("ix_report_jobs_owner_created_at", "owner", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    # host:pid of the process running it: which worker to look at (or kill) for a stuck job.
    worker: Mapped[str | None] = mapped_column(String(128), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    cpu_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    # The trace of the submitting request, when it was sampled: the publish and every run of
    # the job are spans of that trace, so the status links to the whole story.
    trace_id: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    enqueued_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class ReportResult(Base):
    """One row per job at most: the primary key is the job id."""

    __tablename__ = "report_results"

    job_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("report_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)
    csv: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
