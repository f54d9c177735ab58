"""Fault profiles per partner, the per-partner request counters, and applying both."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Mapping
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from mercato_shared.errors import AppError

PartnerName = Literal["carrier-swift", "carrier-parcelpost", "carrier-freightline", "tax", "fx"]
PARTNERS: tuple[PartnerName, ...] = get_args(PartnerName)
CARRIERS: tuple[PartnerName, ...] = tuple(p for p in PARTNERS if p.startswith("carrier-"))

# A hanging partner holds the request this long (then answers); callers time out long before.
HANG_SECONDS = 30.0


class FaultProfile(BaseModel):
    """How one partner misbehaves. All zero / false is a healthy, instant partner."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: float = Field(default=0, ge=0, le=10_000, description="Mean added latency.")
    jitter_ms: float = Field(default=0, ge=0, le=10_000, description="Uniform +/- spread.")
    error_rate: float = Field(default=0, ge=0, le=1, description="Share of 500 answers.")
    hang: bool = Field(default=False, description="Every request hangs (a timeout).")
    hang_rate: float = Field(default=0, ge=0, le=1, description="Share of requests that hang.")
    outage: bool = Field(default=False, description="Every request gets 503 at once.")


class PartnerFailureError(AppError):
    status_code = 500
    code = "partner_error"


class PartnerOutageError(AppError):
    status_code = 503
    code = "partner_outage"


class FaultBoard:
    """The live fault profiles and request counters of every partner (lifespan state)."""

    def __init__(self, initial: Mapping[PartnerName, FaultProfile], rng: random.Random) -> None:
        self._initial = dict(initial)
        self._profiles = dict(initial)
        self._rng = rng
        self.requests: Counter[str] = Counter()
        self._shipments = 100_000

    def next_shipment_number(self) -> int:
        self._shipments += 1
        return self._shipments

    def profile(self, partner: PartnerName) -> FaultProfile:
        return self._profiles.get(partner, FaultProfile())

    def profiles(self) -> dict[str, FaultProfile]:
        return {partner: self.profile(partner) for partner in PARTNERS}

    def set(self, partner: PartnerName, profile: FaultProfile) -> None:
        self._profiles[partner] = profile

    def reset(self) -> None:
        """Back to the profiles the process started with (from `PARTNER_FAULTS`)."""
        self._profiles = dict(self._initial)

    def latency_seconds(self, profile: FaultProfile) -> float:
        spread = (
            self._rng.uniform(-profile.jitter_ms, profile.jitter_ms) if profile.jitter_ms else 0
        )
        return max(0.0, profile.latency_ms + spread) / 1000

    async def apply(self, partner: PartnerName) -> None:
        """Count the request, then delay, hang or fail it as the partner's profile says."""
        self.requests[partner] += 1
        profile = self.profile(partner)
        if profile.outage:
            raise PartnerOutageError(f"{partner} is down (simulated outage).")
        if profile.hang or (profile.hang_rate and self._rng.random() < profile.hang_rate):
            await asyncio.sleep(HANG_SECONDS)
        delay = self.latency_seconds(profile)
        if delay:
            await asyncio.sleep(delay)
        if profile.error_rate and self._rng.random() < profile.error_rate:
            raise PartnerFailureError(f"{partner} failed (simulated error).")
