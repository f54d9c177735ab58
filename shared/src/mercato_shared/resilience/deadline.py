"""`Deadline`: one time budget shared by every call made on behalf of one request."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Deadline:
    """A point in (monotonic) time after which the work on a request is worthless.

    A fan-out creates one `Deadline` for the whole request and hands it to every call; each
    call takes `min(its own timeout, what is left)`, so no call, retry or backoff can run past
    the budget the request was given.
    """

    __slots__ = ("_clock", "_expires_at")

    def __init__(
        self, budget_seconds: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if budget_seconds < 0:
            msg = "a deadline's budget cannot be negative"
            raise ValueError(msg)
        self._clock = clock
        self._expires_at = clock() + budget_seconds

    def remaining(self) -> float:
        """Seconds left, never below zero."""
        return max(0.0, self._expires_at - self._clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def cap(self, timeout_seconds: float) -> float:
        """The timeout one call may use: its own, or what is left of the budget if less."""
        return min(timeout_seconds, self.remaining())

    def timeout(self, timeout_seconds: float) -> asyncio.Timeout:
        """`asyncio.timeout` for one call, capped by the remaining budget.

        The cap is taken from the event loop's clock (which is monotonic as well) at entry, so
        the call raises `TimeoutError` no later than the deadline.
        """
        return asyncio.timeout(self.cap(timeout_seconds))
