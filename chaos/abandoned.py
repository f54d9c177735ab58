"""A reservation no order completes, the state a process killed between reserving stock and
writing its order leaves behind, and the check that catalog's sweeper gave its stock back.

It is made the way orders makes one (`POST /reservations` with orders' own service token,
through the gateway) under an id no order will ever carry; the chaos stack runs the sweeper
with its shortest settings (RESERVATION_TTL_SECONDS, RESERVATION_SWEEP_SECONDS), so the
release falls inside the run, across the faults that follow.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import asyncpg
import httpx

from orders.config import OrdersSettings

#: Both at the least catalog's settings allow.
TTL_SECONDS: Final = 60
SWEEP_SECONDS: Final = 5
UNITS: Final = 5


@dataclass(frozen=True, slots=True)
class Abandoned:
    reservation_id: uuid.UUID
    product_id: int


async def abandon(gateway: httpx.AsyncClient, product_id: int) -> Abandoned:
    # orders' client of identity, read from the environment as orders reads it.
    settings = OrdersSettings()
    client_id, secret = settings.orders_client_id, settings.orders_client_secret
    issued = await gateway.post(
        "/api/identity/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    issued.raise_for_status()
    reservation_id = uuid.uuid4()
    reserved = await gateway.post(
        "/api/catalog/reservations",
        json={"id": str(reservation_id), "lines": [{"product_id": product_id, "quantity": UNITS}]},
        headers={"Authorization": f"Bearer {issued.json()['access_token']}"},
    )
    reserved.raise_for_status()
    return Abandoned(reservation_id, product_id)


async def released(catalog: asyncpg.Connection, abandoned: Abandoned) -> str | None:
    """None when the sweeper released it, else what is wrong."""
    row = await catalog.fetchrow(
        "SELECT created_at, released_at FROM reservations WHERE id = $1",
        abandoned.reservation_id,
    )
    if row is None:
        return f"abandoned reservation {abandoned.reservation_id} is not in catalog"
    created: datetime = row["created_at"]
    if row["released_at"] is None:
        return f"abandoned reservation {abandoned.reservation_id} was never released"
    print(
        f"chaos: the abandoned reservation ({UNITS} units) was released "
        f"{(row['released_at'] - created).total_seconds():.0f} s after it was made "
        f"(RESERVATION_TTL_SECONDS {TTL_SECONDS}, sweep every {SWEEP_SECONDS} s)"
    )
    return None
