"""Alembic environment for the identity database."""

from identity.models import Base
from mercato_shared.migrations import run_alembic_env

run_alembic_env(Base.metadata)
