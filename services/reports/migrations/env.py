"""Alembic environment for the reports database."""

from mercato_shared.migrations import run_alembic_env
from reports.models import Base

run_alembic_env(Base.metadata)
