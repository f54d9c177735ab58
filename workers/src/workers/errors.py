"""Which failures are worth another try."""

from __future__ import annotations

import httpx
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from mercato_shared.internal_client import UpstreamUnavailableError
from mercato_shared.service_tokens import TokenUnavailableError

TRANSIENT: tuple[type[BaseException], ...] = (
    UpstreamUnavailableError,  # orders unreachable, slow or failing past its retries
    httpx.TransportError,
    OperationalError,
    PoolTimeoutError,
    ConnectionError,
    TimeoutError,
)


def is_transient(exc: Exception) -> bool:
    if isinstance(exc, TokenUnavailableError):
        return exc.transient
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, TRANSIENT)
