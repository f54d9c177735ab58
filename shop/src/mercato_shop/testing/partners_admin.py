"""A client of the partners service's admin API: the fault control of the outside world.

The partners service simulates the shop's outside partners (carriers, tax, FX) and lets a
test set their faults, read their request counters and their record of calls. Checkout's
tests and the end-to-end tests drive it with this client, over its HTTP contract only.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import httpx
from pydantic import BaseModel, TypeAdapter

Outcome = Literal["in_flight", "answered", "failed", "abandoned"]


class PartnerCall(BaseModel):
    """One request to a partner: its start and end in the partners' sequence of events."""

    partner: str
    started: int
    ended: int | None = None
    outcome: Outcome = "in_flight"


_CALLS = TypeAdapter(list[PartnerCall])


def overlapped(calls: list[PartnerCall]) -> bool:
    """Whether the calls were all in flight together: every one started before any ended."""
    ends = [call.ended for call in calls]
    return (
        bool(calls)
        and None not in ends
        and max(c.started for c in calls) < min(end for end in ends if end is not None)
    )


class PartnersAdmin:
    """Wraps an `httpx.AsyncClient` whose base URL is the partners service (on loopback)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def fault(self, partner: str, **profile: Any) -> None:
        """Replace `partner`'s fault profile, e.g. `fault("tax", outage=True)`."""
        response = await self.client.put(f"/admin/faults/{partner}", json=profile)
        response.raise_for_status()

    async def requests(self, partner: str) -> int:
        """How many requests `partner` has received since the last reset."""
        response = await self.client.get("/admin/stats")
        response.raise_for_status()
        return int(response.json()["requests"][partner])

    async def calls(self) -> list[PartnerCall]:
        """The calls recorded since the last reset, oldest first."""
        response = await self.client.get("/admin/calls")
        response.raise_for_status()
        return _CALLS.validate_json(response.content)

    async def settled_calls(self, *, safety_seconds: float = 10) -> list[PartnerCall]:
        """The recorded calls once none is in flight any more.

        The partner notices a caller's hang-up a moment after the caller's answer: wait for
        it. `safety_seconds` only keeps a test from waiting forever (a hanging partner holds
        a call for 30 s); it never decides anything when the calls do end.
        """
        async with asyncio.timeout(safety_seconds):
            while True:
                calls = await self.calls()
                if all(call.outcome != "in_flight" for call in calls):
                    return calls
                await asyncio.sleep(0.02)

    async def clear_stats(self) -> None:
        """Every counter at zero and the call record empty (faults unchanged)."""
        (await self.client.post("/admin/stats/reset")).raise_for_status()

    async def reset(self) -> None:
        """Every partner healthy again (its start profile) and every counter at zero."""
        (await self.client.post("/admin/faults/reset")).raise_for_status()
        await self.clear_stats()
