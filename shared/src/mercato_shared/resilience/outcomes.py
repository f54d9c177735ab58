"""How a call to a partner ended, and which failures count against the partner."""

from __future__ import annotations

from enum import StrEnum

import aiohttp


class Outcome(StrEnum):
    OK = "ok"
    TIMEOUT = "timeout"
    ERROR = "error"
    CIRCUIT_OPEN = "circuit_open"


class CircuitOpenError(Exception):
    """The partner's breaker is open (or its one half-open probe is in flight): no call made."""

    def __init__(self, partner: str) -> None:
        super().__init__(f"the circuit of {partner} is open")
        self.partner = partner


class StatusError(Exception):
    """An answer with an error status (>= 400), raised by `Reply.raise_for_status()` and, for
    a fault status (5xx, 429), by `InternalClient`'s attempts so that they are retried.

    Only a fault status counts against the partner (`is_partner_fault`); another 4xx is the
    caller's mistake.
    """

    def __init__(self, status_code: int, url: str = "") -> None:
        where = f" from {url}" if url else ""
        super().__init__(f"HTTP {status_code}{where}")
        self.status_code = status_code
        self.url = url


def is_fault_status(status: int) -> bool:
    """An answer that says the partner is unwell (5xx) or overloaded (429)."""
    return status >= 500 or status == 429


def is_partner_fault(exc: BaseException) -> bool:
    """True for failures that say the partner is unwell: timeouts, transport errors, 5xx, 429.

    Transport errors are aiohttp's (`aiohttp.ClientError`: refused or reset connections,
    `ServerDisconnectedError`, a broken payload, ...); its timeouts are `TimeoutError`s. A 4xx
    answer (other than 429) is the caller's mistake, not the partner's: it neither trips the
    breaker nor is retried.
    """
    if isinstance(exc, StatusError):
        return is_fault_status(exc.status_code)
    return isinstance(exc, TimeoutError | aiohttp.ClientError)


def classify(exc: BaseException | None) -> Outcome:
    if exc is None:
        return Outcome.OK
    outcome = getattr(exc, "outcome", None)  # an error that already says (UpstreamUnavailable)
    if isinstance(outcome, Outcome):
        return outcome
    if isinstance(exc, CircuitOpenError):
        return Outcome.CIRCUIT_OPEN
    if isinstance(exc, TimeoutError):  # aiohttp's timeout errors are TimeoutErrors
        return Outcome.TIMEOUT
    return Outcome.ERROR
