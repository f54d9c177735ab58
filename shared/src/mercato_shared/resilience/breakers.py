"""Circuit breakers per partner, on `purgatory`, with observable state and one half-open probe.

Why purgatory: it is asyncio-native, small, typed, and its in-memory state (one `Context`
per circuit) can be read synchronously, which an OpenTelemetry observable gauge and `/readyz`
need. A closed breaker, and the whole `OutboundCaller.call` (tenacity, timeout, semaphore,
breaker, histogram), cost a negligible part of a partner call (`bench/README.md`, "Figures
behind choices in the code"), so no home-made one.

Two things purgatory does not do, added here:

* Half-open admits *every* request until one succeeds; under a fan-out that is a burst at a
  partner that has just recovered, or not. `PartnerBreaker` lets exactly one probe through
  and rejects the others as `circuit_open` until the probe settles the state.
* Its open -> half-open transition happens lazily on the next request; `state` reports the
  effective state (half-open once the recovery time has passed) so metrics do not show a
  breaker as open that would already admit a probe.

Only purgatory's public API is used: the factory, its breakers as async context managers,
`OpenedState` (what an open breaker raises) and the monitoring hook (`add_listener`), whose
events are where the state, the opening time and the failure count are read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Literal

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from purgatory import (
    AsyncCircuitBreakerFactory,
    CircuitBreakerCreated,
    CircuitBreakerFailed,
    CircuitBreakerRecovered,
    ContextChanged,
    Event,
)
from purgatory.domain.model import ExcludeType, OpenedState
from purgatory.typing import StateName

from mercato_shared.resilience.outcomes import CircuitOpenError, StatusError, is_partner_fault
from mercato_shared.service_tokens import TokenUnavailableError


class BreakerState(IntEnum):
    """The values of the `mercato.circuit_breaker.state` gauge."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


def _not_a_fault(exc: BaseException) -> bool:
    return not is_partner_fault(exc)


# Errors that end a call without counting against the partner (purgatory's "exclude" list):
# a 4xx answer is the caller's mistake, and identity not issuing the caller's own token says
# nothing about the partner. Timeouts, transport errors and 5xx count.
EXCLUDE: ExcludeType = [(StatusError, _not_a_fault), TokenUnavailableError]


_TIMER_SLACK = 0.005  # seconds

_EventType = Literal["circuit_breaker_created", "state_changed", "failed", "recovered"]


@dataclass
class _Circuit:
    """One circuit as purgatory's events describe it."""

    threshold: int
    ttl: float
    state: StateName = "closed"
    opened_at: float | None = None
    failures: int = 0


class _CircuitLog:
    """purgatory's monitoring hook: keeps each circuit's last reported state."""

    def __init__(self) -> None:
        self.circuits: dict[str, _Circuit] = {}

    def __call__(self, name: str, event_type: _EventType, event: Event) -> None:
        if isinstance(event, CircuitBreakerCreated):
            self.circuits[name] = _Circuit(threshold=event.threshold, ttl=event.ttl)
            return
        circuit = self.circuits.get(name)
        if circuit is None:
            return
        if isinstance(event, ContextChanged):
            # Each state starts its own count (a new closed state counts from zero).
            circuit.state, circuit.opened_at, circuit.failures = event.state, event.opened_at, 0
        elif isinstance(event, CircuitBreakerFailed):
            circuit.failures = event.failure_count
        elif isinstance(event, CircuitBreakerRecovered):
            circuit.failures = 0


class PartnerBreaker:
    """One partner's breaker: purgatory's state machine plus a single half-open probe."""

    def __init__(
        self, name: str, breaker: AbstractAsyncContextManager[object], circuit: _Circuit
    ) -> None:
        self.name = name
        self._breaker = breaker
        self._circuit = circuit
        self._probe_in_flight = False

    @property
    def state(self) -> BreakerState:
        circuit = self._circuit
        if circuit.state == "closed":
            return BreakerState.CLOSED
        if circuit.state == "half-opened":
            return BreakerState.HALF_OPEN
        opened_at = circuit.opened_at or 0.0
        # purgatory measures its recovery time on the wall clock; so must we.
        if time.time() > opened_at + circuit.ttl:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def rejects(self) -> bool:
        """True when a call now would be refused (open, or a probe already in flight)."""
        state = self.state
        return state is BreakerState.OPEN or (
            state is BreakerState.HALF_OPEN and self._probe_in_flight
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "state": self.state.name.lower(),
            "failures": self._circuit.failures,
            "threshold": self._circuit.threshold,
            "recovery_seconds": self._circuit.ttl,
        }

    @asynccontextmanager
    async def guard(self, *, fault_after: float | None = None) -> AsyncIterator[None]:
        """Run the body under the breaker; raise `CircuitOpenError` instead when it is open.

        A cancellation (the body cut short by a timeout around it, or the caller going away)
        counts against the partner only when the partner had its whole own timeout,
        `fault_after` seconds: a call cut short by the request's remaining budget, or by a
        client that left, says nothing about the partner and is not counted at all.
        """
        if self.rejects():
            raise CircuitOpenError(self.name)
        probe = self.state is BreakerState.HALF_OPEN
        if probe:
            self._probe_in_flight = True
        started = time.monotonic()
        try:
            try:
                await self._breaker.__aenter__()
            except OpenedState as exc:
                raise CircuitOpenError(self.name) from exc
            try:
                yield
            except asyncio.CancelledError:
                elapsed = time.monotonic() - started
                # The timeout was armed just before this guard was entered: allow that gap.
                timed_out = fault_after is not None and elapsed >= fault_after - _TIMER_SLACK
                if timed_out:
                    slow = TimeoutError(f"{self.name} did not answer within {fault_after:.3f} s")
                    await self._breaker.__aexit__(TimeoutError, slow, None)
                raise
            except BaseException as exc:
                await self._breaker.__aexit__(type(exc), exc, exc.__traceback__)
                raise
            await self._breaker.__aexit__(None, None, None)
        finally:
            if probe:
                self._probe_in_flight = False


class BreakerRegistry:
    """The process's breakers, one per partner name; created in the lifespan.

    Also registers the observable gauge `mercato.circuit_breaker.state` (attribute `partner`;
    0 closed, 1 half-open, 2 open), read from the breakers at each metrics collection.
    """

    def __init__(
        self,
        *,
        failure_threshold: int,
        recovery_seconds: float,
        meter: Meter | None = None,
    ) -> None:
        self._factory = AsyncCircuitBreakerFactory(
            default_threshold=failure_threshold, default_ttl=recovery_seconds, exclude=EXCLUDE
        )
        self._log = _CircuitLog()
        self._factory.add_listener(self._log)
        self._breakers: dict[str, PartnerBreaker] = {}
        (meter or metrics.get_meter("mercato.resilience")).create_observable_gauge(
            "mercato.circuit_breaker.state",
            callbacks=[self._observe],
            description="Circuit breaker state per partner: 0 closed, 1 half-open, 2 open.",
        )

    async def start(self, partners: Iterable[str]) -> None:
        """Create the breakers of the partners this process calls (all start closed)."""
        await self._factory.initialize()
        for name in partners:
            await self.get(name)

    async def get(self, name: str) -> PartnerBreaker:
        breaker = self._breakers.get(name)
        if breaker is None:
            created = await self._factory.get_breaker(name)
            breaker = PartnerBreaker(name, created, self._log.circuits[name])
            self._breakers[name] = breaker
        return breaker

    def states(self) -> Mapping[str, BreakerState]:
        return {name: breaker.state for name, breaker in self._breakers.items()}

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Breaker details for `/readyz`."""
        return {name: breaker.snapshot() for name, breaker in sorted(self._breakers.items())}

    def _observe(self, _: CallbackOptions) -> Iterable[Observation]:
        return [Observation(int(state), {"partner": name}) for name, state in self.states().items()]
