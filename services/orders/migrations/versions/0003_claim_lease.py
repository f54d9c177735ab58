"""Idempotency claims are short leases held by one request; keys expire after a retention.

`holder` names the request that holds an unfinished claim and `lease_until` how long it
holds it (renewed while the request works); the `created_at` index serves the cleanup of
keys past their retention.

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
    op.add_column("idempotency_keys", sa.Column("holder", sa.Uuid(), nullable=True))
    op.add_column(
        "idempotency_keys",
        sa.Column(
            "lease_until",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
    op.drop_column("idempotency_keys", "lease_until")
    op.drop_column("idempotency_keys", "holder")
