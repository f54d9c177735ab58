"""Alembic's environment for every Mercato database; the service's tables come with the config."""

from mercato_shared.migrations import run_alembic_env

run_alembic_env()
