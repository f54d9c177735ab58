"""A typed client for the partners admin API (faults, counters), for tests and demos."""

from __future__ import annotations

from typing import Any

import httpx


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

    async def reset(self) -> None:
        """Every partner healthy again (its start profile) and every counter at zero."""
        for path in ("/admin/faults/reset", "/admin/stats/reset"):
            (await self.client.post(path)).raise_for_status()
