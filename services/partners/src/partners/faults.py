"""Fault profiles per partner, the per-partner request counters and call record, and
applying the profiles.

The call record numbers every start and every end of a call from one sequence, so a test
can tell from the order of events, not from a clock, whether calls overlapped (every start
before the first end) and whether a caller hung up before its answer (`abandoned`).
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter, deque
from collections.abc import Mapping
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from mercato_shared.errors import AppError

PartnerName = Literal["carrier-swift", "carrier-parcelpost", "carrier-freightline", "tax", "fx"]
PARTNERS: tuple[PartnerName, ...] = get_args(PartnerName)
CARRIERS: tuple[PartnerName, ...] = tuple(p for p in PARTNERS if p.startswith("carrier-"))

# A hanging partner holds the request this long (then answers); callers time out long before.
HANG_SECONDS = 30.0
# Calls kept in the record (the oldest are dropped first): enough for any test, bounded for
# a partners process that serves a benchmark.
RECORDED_CALLS = 1000

Outcome = Literal["in_flight", "answered", "failed", "abandoned"]


class FaultProfile(BaseModel):
    """How one partner misbehaves. All zero / false is a healthy, instant partner."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: float = Field(default=0, ge=0, le=10_000, description="Mean added latency.")
    jitter_ms: float = Field(default=0, ge=0, le=10_000, description="Uniform +/- spread.")
    error_rate: float = Field(default=0, ge=0, le=1, description="Share of 500 answers.")
    hang: bool = Field(default=False, description="Every request hangs (a timeout).")
    hang_rate: float = Field(default=0, ge=0, le=1, description="Share of requests that hang.")
    outage: bool = Field(default=False, description="Every request gets 503 at once.")
    rendezvous: bool = Field(
        default=False,
        description=(
            "Each request waits until every partner with `rendezvous` has a request waiting, "
            "then all go on together: only callers that call those partners concurrently "
            "get answers (the others time out)."
        ),
    )


class Call(BaseModel):
    """One request to a partner: its start and end in the board's sequence of events."""

    partner: PartnerName
    started: int = Field(description="Sequence number of the request's arrival.")
    ended: int | None = Field(default=None, description="Sequence number of its end.")
    outcome: Outcome = Field(
        default="in_flight",
        description="`abandoned`: the caller hung up before the partner answered.",
    )


class PartnerFailureError(AppError):
    status_code = 500
    code = "partner_error"


class PartnerOutageError(AppError):
    status_code = 503
    code = "partner_outage"


def overlapped(calls: list[Call]) -> bool:
    """Whether the calls were all in flight together: every one started before any ended."""
    ends = [call.ended for call in calls]
    return (
        bool(calls)
        and None not in ends
        and max(c.started for c in calls) < min(end for end in ends if end is not None)
    )


class FaultBoard:
    """The live fault profiles, request counters and call record of every partner (lifespan
    state)."""

    def __init__(self, initial: Mapping[PartnerName, FaultProfile], rng: random.Random) -> None:
        self._initial = dict(initial)
        self._profiles = dict(initial)
        self._rng = rng
        self.requests: Counter[str] = Counter()
        self._calls: deque[Call] = deque(maxlen=RECORDED_CALLS)
        self._events = itertools.count(1)
        self._waiting: Counter[PartnerName] = Counter()  # this round of the rendezvous
        self._released = asyncio.Event()
        self._shipments = 100_000

    def next_shipment_number(self) -> int:
        self._shipments += 1
        return self._shipments

    def profile(self, partner: PartnerName) -> FaultProfile:
        return self._profiles.get(partner, FaultProfile())

    def profiles(self) -> dict[str, FaultProfile]:
        return {partner: self.profile(partner) for partner in PARTNERS}

    def set(self, partner: PartnerName, profile: FaultProfile) -> None:
        """Replace one profile; requests held at the rendezvous go on."""
        self._profiles[partner] = profile
        self._release()

    def reset(self) -> None:
        """Back to the profiles the process started with (from `PARTNER_FAULTS`)."""
        self._profiles = dict(self._initial)
        self._release()

    def calls(self) -> list[Call]:
        """The recorded calls, oldest first (the last `RECORDED_CALLS`)."""
        return list(self._calls)

    def clear_stats(self) -> None:
        """Counters and call record back to empty (calls in flight still end in order)."""
        self.requests.clear()
        self._calls.clear()

    def latency_seconds(self, profile: FaultProfile) -> float:
        spread = (
            self._rng.uniform(-profile.jitter_ms, profile.jitter_ms) if profile.jitter_ms else 0
        )
        return max(0.0, profile.latency_ms + spread) / 1000

    async def apply(self, partner: PartnerName) -> None:
        """Count and record the request, then delay, hang or fail it as the partner's profile
        says. Cancelling it (the caller hung up) records the call as `abandoned`."""
        self.requests[partner] += 1
        call = Call(partner=partner, started=next(self._events))
        self._calls.append(call)
        try:
            await self._misbehave(partner)
        except asyncio.CancelledError:
            self._end(call, "abandoned")
            raise
        except Exception:
            self._end(call, "failed")
            raise
        self._end(call, "answered")

    def _end(self, call: Call, outcome: Outcome) -> None:
        call.ended, call.outcome = next(self._events), outcome

    async def _misbehave(self, partner: PartnerName) -> None:
        if self.profile(partner).rendezvous:
            await self._meet(partner)
        profile = self.profile(partner)  # the one in force when the request goes on
        if profile.outage:
            raise PartnerOutageError(f"{partner} is down (simulated outage).")
        if profile.hang or (profile.hang_rate and self._rng.random() < profile.hang_rate):
            await asyncio.sleep(HANG_SECONDS)
        delay = self.latency_seconds(profile)
        if delay:
            await asyncio.sleep(delay)
        if profile.error_rate and self._rng.random() < profile.error_rate:
            raise PartnerFailureError(f"{partner} failed (simulated error).")

    async def _meet(self, partner: PartnerName) -> None:
        """Wait until every partner with `rendezvous` has a request here, then go on."""
        self._waiting[partner] += 1
        released = self._released
        members = {p for p in PARTNERS if self.profile(p).rendezvous}
        if all(self._waiting[p] for p in members):
            self._release()
            return
        try:
            await released.wait()
        finally:
            if not released.is_set():  # the caller hung up: it leaves this round
                self._waiting[partner] -= 1

    def _release(self) -> None:
        """Let every request of this round of the rendezvous go on; start the next round."""
        self._released.set()
        self._released = asyncio.Event()
        self._waiting = Counter()
