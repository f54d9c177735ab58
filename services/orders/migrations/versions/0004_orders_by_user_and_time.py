"""The export of one user's orders walks (user_id, created_at, id): a purchases report.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_orders_user_id_created_at_id", "orders", ["user_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_orders_user_id_created_at_id", table_name="orders")
