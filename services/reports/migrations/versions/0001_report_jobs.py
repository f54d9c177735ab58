"""Report jobs and their results, with the sweeper's partial indexes.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = sa.func.now()


def upgrade() -> None:
    op.create_table(
        "report_jobs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="queued"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("worker", sa.String(128), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cpu_seconds", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')", name="ck_report_jobs_status"
        ),
        sa.CheckConstraint("kind IN ('sales', 'purchases')", name="ck_report_jobs_kind"),
        sa.CheckConstraint("period_end > period_start", name="ck_report_jobs_period"),
    )
    op.create_index(
        "ix_report_jobs_queued",
        "report_jobs",
        ["enqueued_at"],
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.create_index(
        "ix_report_jobs_running",
        "report_jobs",
        ["heartbeat_at"],
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_table(
        "report_results",
        sa.Column(
            "job_id",
            sa.Uuid(),
            sa.ForeignKey("report_jobs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("body", postgresql.JSONB(), nullable=False),
        sa.Column("csv", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )


def downgrade() -> None:
    op.drop_table("report_results")
    op.drop_index("ix_report_jobs_running", table_name="report_jobs")
    op.drop_index("ix_report_jobs_queued", table_name="report_jobs")
    op.drop_table("report_jobs")
