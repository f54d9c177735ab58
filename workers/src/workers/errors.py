"""Which failures are worth another try."""

from __future__ import annotations

import aiohttp
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from mercato_shared.internal_client import UpstreamUnavailableError
from mercato_shared.service_tokens import TokenUnavailableError
from mercato_shared.unavailable import database_unavailable


class TransientError(Exception):
    """A failure worth another try that none of the types below would catch (a database
    error whose connection was lost, say): raised in its place so Celery retries the task."""


TRANSIENT: tuple[type[BaseException], ...] = (
    TransientError,
    UpstreamUnavailableError,  # orders unreachable, slow or failing past its retries
    aiohttp.ClientError,  # connection refused or reset, a server that hung up, ...
    OperationalError,
    PoolTimeoutError,
    ConnectionError,
    TimeoutError,
    # redis-py's own (not the builtin ConnectionError): Redis restarted under a task.
    RedisConnectionError,
    RedisTimeoutError,
)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TokenUnavailableError):
        return exc.transient
    if database_unavailable(exc):  # a Postgres restart, a connection closed mid-query
        return True
    return isinstance(exc, TRANSIENT)


def as_transient(exc: BaseException) -> TransientError | None:
    """A transient `exc` that Celery's `autoretry_for` would not catch, as `TransientError`."""
    if is_transient(exc) and not isinstance(exc, TRANSIENT):
        return TransientError(repr(exc))
    return None
