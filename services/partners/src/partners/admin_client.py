"""A typed client for the partners admin API (faults, counters, calls), for tests and demos."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from pydantic import TypeAdapter

from partners.faults import Call

_CALLS = TypeAdapter(list[Call])


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

    async def calls(self) -> list[Call]:
        """The calls recorded since the last reset, oldest first."""
        response = await self.client.get("/admin/calls")
        response.raise_for_status()
        return _CALLS.validate_json(response.content)

    async def settled_calls(self, *, safety_seconds: float = 10) -> list[Call]:
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
