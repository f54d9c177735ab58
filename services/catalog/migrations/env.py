"""Alembic environment for the catalog database."""

from catalog.models import Base
from mercato_shared.migrations import run_alembic_env

run_alembic_env(Base.metadata)
