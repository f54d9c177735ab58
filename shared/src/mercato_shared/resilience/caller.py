"""`OutboundCaller`: every outbound call, bounded, limited, broken and retried.

An outbound call goes to an outside partner (checkout's `PartnersClient`) or to another
Mercato service (`InternalClient` in `mercato_shared.internal_client` runs its attempts
through an `OutboundCaller`); the caller names its target either way. One call goes
through, in this order:

1. the breaker, when the caller has breakers: open (or a half-open probe already in flight)
   -> `CircuitOpenError` at once;
2. the retry loop (idempotent calls only; tenacity, the one retry library of Mercato):
   jittered exponential backoff, and no attempt is started, nor a backoff slept, that would
   end past the request's `Deadline`. The first attempt is made before the loop, which is
   entered only when it failed in a way worth retrying (tenacity then counts it and decides
   as if it had made it): a call that succeeds at once does not pay for the loop;
3. per attempt, `min(per-call timeout, what is left of the deadline)` bounds both the wait
   for the partner's concurrency slot (`asyncio.Semaphore`, when limited) and the call itself;
4. the breaker records the attempt: timeouts, transport errors, 5xx and 429 count as
   failures, other 4xx do not.

Why tenacity rather than stamina: stamina's `timeout` is tenacity's `stop_after_delay`, which
still sleeps a backoff that ends past the budget; tenacity's `stop_before_delay` refuses it,
which is the deadline rule this layer promises (docs/decisions/0017-one-internal-client.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from typing import TypeVar

from opentelemetry import metrics
from opentelemetry.metrics import Meter
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential_jitter,
)

from mercato_shared.resilience.breakers import BreakerRegistry
from mercato_shared.resilience.deadline import Deadline
from mercato_shared.resilience.outcomes import CircuitOpenError, classify, is_partner_fault

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CallPolicy:
    """How outbound calls are bounded; one per process, from settings."""

    timeout_seconds: float = 0.3
    max_attempts: int = 2
    backoff_initial_seconds: float = 0.02
    backoff_max_seconds: float = 0.2
    backoff_jitter_seconds: float = 0.02
    # An attempt is not started with less than this left of the deadline.
    min_attempt_seconds: float = 0.01
    # Calls in flight to one target from this process; None: no limit.
    max_concurrency: int | None = 20


Retryable = Callable[[BaseException], bool]


class OutboundCaller:
    """Calls targets under a `CallPolicy`; the breakers and semaphores are lifespan-owned.

    `breakers=None` calls without circuit breakers (timeouts, deadline and retries only).
    """

    def __init__(
        self,
        breakers: BreakerRegistry | None,
        policy: CallPolicy,
        *,
        meter: Meter | None = None,
    ) -> None:
        self._breakers = breakers
        self._policy = policy
        self._slots: dict[str, AbstractAsyncContextManager[object]] = {}
        self._duration = (meter or metrics.get_meter("mercato.resilience")).create_histogram(
            "mercato.partner.request.duration",
            unit="s",
            description="Duration of each attempt to call a partner, by partner and outcome.",
        )

    @property
    def breakers(self) -> BreakerRegistry | None:
        return self._breakers

    async def start(self, partners: Iterable[str]) -> None:
        names = list(partners)
        if self._breakers is not None:
            await self._breakers.start(names)
        for name in names:
            self._slot(name)

    def _slot(self, partner: str) -> AbstractAsyncContextManager[object]:
        slot = self._slots.get(partner)
        if slot is None:
            limit = self._policy.max_concurrency
            slot = nullcontext() if limit is None else asyncio.Semaphore(limit)
            self._slots[partner] = slot
        return slot

    async def call(
        self,
        partner: str,
        operation: Callable[[], Awaitable[T]],
        *,
        deadline: Deadline,
        idempotent: bool,
        timeout_seconds: float | None = None,
        retryable: Retryable | None = None,
    ) -> T:
        """Run `operation` against `partner` and return its result, or raise its last error.

        Only `idempotent` operations are retried, and only on partner faults (timeouts,
        transport errors, 5xx, 429) or what `retryable` accepts besides; `CircuitOpenError`
        is never retried.
        """
        policy = self._policy
        timeout = policy.timeout_seconds if timeout_seconds is None else timeout_seconds
        attempts = policy.max_attempts if idempotent else 1
        if deadline.remaining() - policy.min_attempt_seconds <= 0:
            raise TimeoutError(f"no time left to call {partner}")
        worth_retrying = _retryable if retryable is None else _either(retryable)
        # The first attempt runs on its own: most calls succeed at once, and tenacity's loop
        # cost about a quarter of an internal call's CPU (decision 0027).
        try:
            return await self._attempt(partner, operation, deadline, seconds=timeout)
        except BaseException as exc:
            if attempts == 1 or not worth_retrying(exc):
                raise
            first_failure = exc
        return await self._retry(
            partner,
            operation,
            deadline,
            first_failure,
            seconds=timeout,
            attempts=attempts,
            worth_retrying=worth_retrying,
        )

    async def _retry(
        self,
        partner: str,
        operation: Callable[[], Awaitable[T]],
        deadline: Deadline,
        first_failure: BaseException,
        *,
        seconds: float,
        attempts: int,
        worth_retrying: Retryable,
    ) -> T:
        """The attempts after a first one that failed with `first_failure`, in tenacity's loop.

        The loop's first attempt is that failure, raised again without a call: tenacity then
        decides as if it had made it (its backoff, its attempt count), and its budget is what
        is left of the deadline now, so no backoff is slept that would end past it.
        """
        policy = self._policy
        budget = deadline.remaining() - policy.min_attempt_seconds
        retrying = AsyncRetrying(
            stop=stop_after_attempt(attempts) | stop_before_delay(budget),
            wait=wait_exponential_jitter(
                multiplier=policy.backoff_initial_seconds,
                max=policy.backoff_max_seconds,
                jitter=policy.backoff_jitter_seconds,
            ),
            retry=retry_if_exception(worth_retrying),
            reraise=True,
        )
        made: BaseException | None = first_failure
        result: T
        async for attempt in retrying:
            with attempt:
                if made is not None:
                    failed, made = made, None
                    raise failed
                result = await self._attempt(partner, operation, deadline, seconds=seconds)
        return result

    async def _attempt(
        self,
        partner: str,
        operation: Callable[[], Awaitable[T]],
        deadline: Deadline,
        *,
        seconds: float,
    ) -> T:
        breaker = None if self._breakers is None else await self._breakers.get(partner)
        slot = self._slot(partner)
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            if breaker is not None and breaker.rejects():
                raise CircuitOpenError(partner)
            # The partner is blamed for a timeout only when it had its whole own timeout,
            # not when the request's remaining budget was shorter.
            fault_after = seconds if deadline.cap(seconds) >= seconds else None
            guard = nullcontext() if breaker is None else breaker.guard(fault_after=fault_after)
            async with deadline.timeout(seconds), slot, guard:
                return await operation()
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._duration.record(
                time.perf_counter() - started,
                {"partner": partner, "outcome": classify(error).value},
            )


def _retryable(exc: BaseException) -> bool:
    return not isinstance(exc, CircuitOpenError) and is_partner_fault(exc)


def _either(extra: Retryable) -> Retryable:
    return lambda exc: (
        not isinstance(exc, CircuitOpenError) and (is_partner_fault(exc) or extra(exc))
    )
