"""Which failures are worth another try."""

from __future__ import annotations

import httpx
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError


class TransientError(Exception):
    """A dependency failed in a way that may pass (5xx, overload); retry with backoff."""


TRANSIENT: tuple[type[BaseException], ...] = (
    TransientError,
    httpx.TransportError,
    OperationalError,
    PoolTimeoutError,
    ConnectionError,
    TimeoutError,
)


def is_transient(exc: Exception) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, TRANSIENT)
