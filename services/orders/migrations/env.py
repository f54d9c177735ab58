"""Alembic environment for the orders database."""

from mercato_shared.migrations import run_alembic_env
from orders.models import Base

run_alembic_env(Base.metadata)
