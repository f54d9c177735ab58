"""The resilience layer without I/O: deadline math, breaker transitions, retries, metrics."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from mercato_shared.resilience import (
    BreakerRegistry,
    BreakerState,
    CallPolicy,
    CircuitOpenError,
    Deadline,
    OutboundCaller,
    PartnerBreaker,
    StatusError,
    classify,
    is_partner_fault,
)


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def wall_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """purgatory times its recovery with `time.time()`; so does our effective state."""
    clock = FakeClock()
    monkeypatch.setattr("purgatory.domain.model.time.time", clock)
    return clock


def test_deadline_counts_down_and_caps_call_timeouts() -> None:
    clock = FakeClock()
    deadline = Deadline(0.8, clock=clock)
    assert deadline.remaining() == pytest.approx(0.8)
    assert deadline.cap(0.3) == pytest.approx(0.3)
    clock.now += 0.6
    assert deadline.cap(0.3) == pytest.approx(0.2)
    assert deadline.remaining() > 0
    clock.now += 1
    assert deadline.remaining() == 0.0
    assert deadline.expired is True
    with pytest.raises(ValueError, match="negative"):
        Deadline(-1)


async def test_deadline_timeout_stops_a_slow_call() -> None:
    deadline = Deadline(0.01)
    with pytest.raises(TimeoutError):
        async with deadline.timeout(10):
            await asyncio.sleep(5)


def state(breaker: PartnerBreaker) -> BreakerState:
    """Read through a call, so a type checker does not narrow the state across awaits."""
    return breaker.state


def server_error() -> StatusError:
    return StatusError(503, "http://partner/x")


async def test_breaker_opens_probes_once_and_closes(wall_clock: FakeClock) -> None:
    registry = BreakerRegistry(failure_threshold=2, recovery_seconds=5)
    await registry.start(["swift"])
    breaker = await registry.get("swift")
    for _ in range(2):
        with pytest.raises(StatusError):
            async with breaker.guard():
                raise server_error()
    assert state(breaker) is BreakerState.OPEN
    with pytest.raises(CircuitOpenError):
        async with breaker.guard():
            pytest.fail("an open breaker must not run the call")

    wall_clock.now += 6
    assert state(breaker) is BreakerState.HALF_OPEN
    probe_may_finish = asyncio.Event()

    async def probe() -> None:
        async with breaker.guard():
            await probe_may_finish.wait()

    task = asyncio.create_task(probe())
    await asyncio.sleep(0)
    assert breaker.rejects(), "only one half-open probe at a time"
    with pytest.raises(CircuitOpenError):
        async with breaker.guard():
            pass
    probe_may_finish.set()
    await task
    assert state(breaker) is BreakerState.CLOSED
    assert registry.snapshot()["swift"]["state"] == "closed"


async def test_a_failed_probe_reopens(wall_clock: FakeClock) -> None:
    registry = BreakerRegistry(failure_threshold=1, recovery_seconds=5)
    breaker = await registry.get("tax")
    with pytest.raises(TimeoutError):
        async with breaker.guard():
            raise TimeoutError
    wall_clock.now += 6
    with pytest.raises(TimeoutError):
        async with breaker.guard():
            raise TimeoutError
    assert state(breaker) is BreakerState.OPEN


async def test_client_errors_do_not_count_against_the_partner() -> None:
    registry = BreakerRegistry(failure_threshold=1, recovery_seconds=5)
    breaker = await registry.get("fx")
    with pytest.raises(StatusError):
        async with breaker.guard():
            raise StatusError(422, "http://partner/x")
    assert state(breaker) is BreakerState.CLOSED


async def test_retries_only_idempotent_calls_on_partner_faults() -> None:
    caller = OutboundCaller(
        BreakerRegistry(failure_threshold=100, recovery_seconds=5),
        CallPolicy(max_attempts=3, backoff_initial_seconds=0, backoff_jitter_seconds=0),
    )
    calls = 0

    async def failing() -> None:
        nonlocal calls
        calls += 1
        raise server_error()

    with pytest.raises(StatusError):
        await caller.call("p", failing, deadline=Deadline(5), idempotent=True)
    assert calls == 3
    calls = 0
    with pytest.raises(StatusError):
        await caller.call("p", failing, deadline=Deadline(5), idempotent=False)
    assert calls == 1

    async def bug() -> None:
        nonlocal calls
        calls += 1
        raise ValueError

    calls = 0
    with pytest.raises(ValueError):  # noqa: PT011 - any non-partner error
        await caller.call("p", bug, deadline=Deadline(5), idempotent=True)
    assert calls == 1


async def test_a_retry_counts_the_first_attempt_and_sleeps_no_backoff_past_the_deadline() -> None:
    """The first attempt runs outside tenacity's loop; what follows decides as if it had not."""
    slow_then_fail = 0.3

    async def attempts_within(deadline_seconds: float, backoff: float) -> tuple[int, float]:
        policy = CallPolicy(
            timeout_seconds=1.0,
            max_attempts=3,
            backoff_initial_seconds=backoff,
            backoff_max_seconds=backoff,
            backoff_jitter_seconds=0,
            max_concurrency=None,
        )
        caller = OutboundCaller(None, policy)
        calls = 0

        async def op() -> None:
            nonlocal calls
            calls += 1
            await asyncio.sleep(slow_then_fail if calls == 1 else 0)
            raise server_error()

        started = time.monotonic()
        with pytest.raises(StatusError):
            await caller.call("p", op, deadline=Deadline(deadline_seconds), idempotent=True)
        return calls, time.monotonic() - started

    # 0.3 s spent, then a 0.25 s backoff would end past the 0.5 s deadline: no retry.
    calls, elapsed = await attempts_within(0.5, 0.25)
    assert calls == 1
    assert elapsed < 0.45
    # A 0.05 s backoff fits, twice: three attempts in all, within the deadline.
    calls, elapsed = await attempts_within(0.5, 0.05)
    assert calls == 3
    assert elapsed < 0.5


async def test_no_call_without_time_left_and_circuit_open_is_not_retried() -> None:
    caller = OutboundCaller(
        BreakerRegistry(failure_threshold=1, recovery_seconds=60),
        CallPolicy(max_attempts=5, backoff_initial_seconds=0),
    )
    calls = 0

    async def op() -> None:
        nonlocal calls
        calls += 1
        raise TimeoutError

    with pytest.raises(TimeoutError):
        await caller.call("p", op, deadline=Deadline(0), idempotent=True)
    assert calls == 0
    with pytest.raises(CircuitOpenError):  # first attempt opens it, the retry is refused
        await caller.call("p", op, deadline=Deadline(5), idempotent=True)
    assert calls == 1


async def test_metrics_show_breaker_state_and_call_outcomes() -> None:
    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader]).get_meter("test")
    breakers = BreakerRegistry(failure_threshold=1, recovery_seconds=60, meter=meter)
    caller = OutboundCaller(breakers, CallPolicy(max_attempts=1), meter=meter)
    await caller.start(["swift", "tax"])

    async def ok() -> int:
        return 1

    async def down() -> None:
        raise server_error()

    assert await caller.call("tax", ok, deadline=Deadline(1), idempotent=True) == 1
    with pytest.raises(StatusError):
        await caller.call("swift", down, deadline=Deadline(1), idempotent=True)
    with pytest.raises(CircuitOpenError):
        await caller.call("swift", down, deadline=Deadline(1), idempotent=True)

    data = reader.get_metrics_data()
    assert data is not None
    points: dict[str, list[tuple[dict[str, object], object]]] = {}
    for resource_metrics in data.resource_metrics:
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                points[metric.name] = [
                    (dict(p.attributes or {}), getattr(p, "value", getattr(p, "count", None)))
                    for p in metric.data.data_points
                ]
    states = {
        str(attrs["partner"]): value for attrs, value in points["mercato.circuit_breaker.state"]
    }
    assert states == {"swift": 2, "tax": 0}
    outcomes = {
        (str(attrs["partner"]), str(attrs["outcome"]))
        for attrs, _ in points["mercato.partner.request.duration"]
    }
    assert outcomes == {("tax", "ok"), ("swift", "error"), ("swift", "circuit_open")}


def test_classify() -> None:
    assert classify(None).value == "ok"
    assert classify(TimeoutError()).value == "timeout"
    assert classify(aiohttp.SocketTimeoutError("slow")).value == "timeout"
    assert classify(aiohttp.ConnectionTimeoutError("no connection")).value == "timeout"
    assert classify(aiohttp.ServerDisconnectedError()).value == "error"
    assert classify(server_error()).value == "error"
    assert classify(CircuitOpenError("p")).value == "circuit_open"


def test_partner_faults_are_timeouts_transport_errors_and_fault_statuses() -> None:
    faults = [
        TimeoutError(),
        aiohttp.SocketTimeoutError("slow"),
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientConnectionResetError("reset"),
        aiohttp.ClientPayloadError("cut short"),
        StatusError(500),
        StatusError(503),
        StatusError(429),
    ]
    assert all(map(is_partner_fault, faults))
    mistakes = [StatusError(400), StatusError(404), StatusError(409), ValueError("bug")]
    assert not any(map(is_partner_fault, mistakes))


async def test_a_call_cut_by_the_request_budget_does_not_count_against_the_partner() -> None:
    breakers = BreakerRegistry(failure_threshold=1, recovery_seconds=60)
    await breakers.start(["p"])
    caller = OutboundCaller(breakers, CallPolicy(max_attempts=1))

    async def slow() -> int:
        await asyncio.sleep(5)
        return 1

    # The partner's own timeout is 1 s, but only 20 ms of the request's budget are left.
    with pytest.raises(TimeoutError):
        await caller.call("p", slow, deadline=Deadline(0.02), idempotent=True, timeout_seconds=1.0)
    assert (await breakers.get("p")).state is BreakerState.CLOSED

    # With its whole own timeout (20 ms) used up, the same partner is at fault: one failure
    # reaches the threshold of 1 and opens the breaker.
    with pytest.raises(TimeoutError):
        await caller.call("p", slow, deadline=Deadline(5), idempotent=True, timeout_seconds=0.02)
    assert (await breakers.get("p")).state is BreakerState.OPEN


async def test_a_caller_that_goes_away_does_not_count_against_the_partner() -> None:
    breakers = BreakerRegistry(failure_threshold=1, recovery_seconds=60)
    await breakers.start(["p"])
    caller = OutboundCaller(breakers, CallPolicy(max_attempts=1))

    async def slow() -> int:
        await asyncio.sleep(5)
        return 1

    task = asyncio.create_task(
        caller.call("p", slow, deadline=Deadline(5), idempotent=True, timeout_seconds=1.0)
    )
    await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await breakers.get("p")).state is BreakerState.CLOSED
