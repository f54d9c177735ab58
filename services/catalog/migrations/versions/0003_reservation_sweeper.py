"""Reservations remember when they were last returned and whether an order confirmed them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows count as touched now: the sweeper looks at them one TTL after the upgrade.
    op.add_column(
        "reservations",
        sa.Column(
            "touched_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.add_column(
        "reservations", sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "ix_reservations_open_touched_at",
        "reservations",
        ["touched_at"],
        postgresql_where=sa.text("released_at IS NULL AND confirmed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_reservations_open_touched_at", table_name="reservations")
    op.drop_column("reservations", "confirmed_at")
    op.drop_column("reservations", "touched_at")
