"""How a call to a partner ended, and which failures count against the partner."""

from __future__ import annotations

from enum import StrEnum

import httpx


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


def is_fault_status(status: int) -> bool:
    """An answer that says the partner is unwell (5xx) or overloaded (429)."""
    return status >= 500 or status == 429


def is_partner_fault(exc: BaseException) -> bool:
    """True for failures that say the partner is unwell: timeouts, transport errors, 5xx, 429.

    A 4xx answer (other than 429) is the caller's mistake, not the partner's: it neither
    trips the breaker nor is retried.
    """
    if isinstance(exc, httpx.HTTPStatusError):
        return is_fault_status(exc.response.status_code)
    return isinstance(exc, TimeoutError | httpx.TransportError)


def classify(exc: BaseException | None) -> Outcome:
    if exc is None:
        return Outcome.OK
    outcome = getattr(exc, "outcome", None)  # an error that already says (UpstreamUnavailable)
    if isinstance(outcome, Outcome):
        return outcome
    if isinstance(exc, CircuitOpenError):
        return Outcome.CIRCUIT_OPEN
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return Outcome.TIMEOUT
    return Outcome.ERROR
