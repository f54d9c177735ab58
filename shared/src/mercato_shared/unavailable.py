"""Which exceptions mean "the database cannot be reached right now", as opposed to a bug.

Postgres restarting, refusing connections, closing one in the middle of a query, a pool
with no connection free in time: the request did nothing wrong and the same request may
succeed in a moment, so the answer is 503 `dependency_unavailable` with `Retry-After`
(`mercato_shared.errors`) and a worker retries the task. An integrity or programming error
(a duplicate key, a missing table, bad SQL) is none of these and stays a 500 / a failure.
"""

from __future__ import annotations

import socket
from typing import Final

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

# Raised by asyncpg itself (SQLAlchemy's asyncpg adapter passes connect errors through raw,
# and keeps the asyncpg error as the `__cause__` of what it translates).
_UNREACHABLE: Final[tuple[type[BaseException], ...]] = (
    asyncpg.PostgresConnectionError,  # class 08: connection failure, does not exist, ...
    asyncpg.CannotConnectNowError,  # 57P03: starting up or shutting down
    asyncpg.AdminShutdownError,  # 57P01: terminated by a fast shutdown or pg_terminate_backend
    asyncpg.CrashShutdownError,  # 57P02
    asyncpg.TooManyConnectionsError,  # 53300
    ConnectionError,  # refused, reset, aborted, broken pipe (OSError subclasses)
    socket.gaierror,  # the host name does not resolve (yet)
    TimeoutError,  # connect timeout, command timeout
)
# Types for which `install_error_handlers` registers the check (Starlette picks a handler by
# the exception's class hierarchy; whatever the check refuses is re-raised: a logged 500).
CANDIDATE_TYPES: Final[tuple[type[Exception], ...]] = (
    DBAPIError,
    PoolTimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,
)
_MAX_CHAIN: Final = 6


def database_unavailable(exc: BaseException) -> bool:
    """True when `exc` (or what it wraps) says Postgres is unreachable, not that SQL failed."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < _MAX_CHAIN:
        seen += 1
        if isinstance(current, PoolTimeoutError):
            return True
        if isinstance(current, DBAPIError):
            if current.connection_invalidated:
                return True
            current = current.orig if current.orig is not None else current.__cause__
            continue
        if isinstance(current, _UNREACHABLE):
            return True
        if isinstance(current, asyncpg.InterfaceError) and "closed" in str(current):
            return True  # "connection is closed": used after the server dropped it
        current = current.__cause__
    return False
