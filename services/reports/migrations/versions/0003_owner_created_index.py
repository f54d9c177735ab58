"""Report jobs by owner and creation time: each submission counts its owner's recent jobs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_report_jobs_owner_created_at", "report_jobs", ["owner", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_report_jobs_owner_created_at", table_name="report_jobs")
