"""Fixtures shared by every test suite of the repository.

Tests are marked by where they live: `*/integration/*` need the real Postgres and Redis,
`tests/e2e/*` and `tests/chaos/*` run a native stack. Anything else is a unit test and does no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

# `workers/` is both a folder of this repository and the installed `workers` package. Import
# the package before pytest's importlib mode collects `workers/tests/...`, or it registers the
# folder as a namespace module named `workers` that hides the real one.
import workers  # noqa: F401
from chaos.servers import OwnPostgres, OwnRedis
from devtools.ports import free_port, wait_for_port

__all__ = ["OwnPostgres", "OwnRedis", "free_port", "own_postgres", "own_redis", "wait_for_port"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.path)).parts
        if "integration" in parts:
            item.add_marker(pytest.mark.integration)
        if "e2e" in parts or "chaos" in parts:  # both run a native stack
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    """A private redis-server on its own port, for tests that break the cache."""
    with OwnRedis() as server:
        yield server


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    """A private Postgres cluster on its own port, for tests that stop or restart it."""
    with OwnPostgres() as server:
        yield server
