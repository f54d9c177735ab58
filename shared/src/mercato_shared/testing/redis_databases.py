"""Which Redis database each test suite uses: one each, none shared, none a stack's.

Database 0 is a developer's running stack (`make up`); the end-to-end stack, the contract
stacks and the benchmark stacks name theirs in their own modules (`tests/e2e`, `bench`).
A suite that shares a database with another one (or with a stack) could take its queued
jobs, its locks or its cached keys; each suite here flushes only its own.

    suite     database
    shared    3
    worker    4
    reports   9
    checkout  11
    identity  12
    orders    13
    catalog   15
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

REDIS_HOST: Final = "redis://127.0.0.1:6379"

#: Taken by others: a developer's stack (0), benchmarks (5, 7), contract stacks (8), the
#: Kubernetes guide's port-forward (10), the end-to-end stack (14).
NOT_FOR_SUITES: Final = frozenset({0, 5, 7, 8, 10, 14})

SUITE_DATABASES: Final[Mapping[str, int]] = MappingProxyType(
    {
        "shared": 3,
        "worker": 4,
        "reports": 9,
        "checkout": 11,
        "identity": 12,
        "orders": 13,
        "catalog": 15,
    }
)


def redis_url_of(suite: str) -> str:
    """The Redis URL of `suite`'s own database (a service's suite is its `service_name`)."""
    try:
        database = SUITE_DATABASES[suite]
    except KeyError:
        msg = f"no Redis database is allocated to the {suite!r} suite: add it to SUITE_DATABASES"
        raise LookupError(msg) from None
    return f"{REDIS_HOST}/{database}"
