"""Idempotency claims remember their reservation id, so a stale claim can be taken over.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("idempotency_keys", sa.Column("reservation_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    op.drop_column("idempotency_keys", "reservation_id")
