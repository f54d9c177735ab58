"""The reservation sweeper: stock held by an order that never came back is given back.

Orders reserves stock, then writes its order in its own database. If its process dies in
between (with or without an Idempotency-Key), or its compensating release never reaches
catalog, the reservation stays open and its stock is lost to the shop. Each period (one
replica, catalog.periodic) the sweeper:

1. takes up to `RESERVATION_SWEEP_BATCH` open reservations (neither released nor confirmed)
   that no reservation call returned for `RESERVATION_TTL_SECONDS`;
2. asks orders which of them an order was written with (`POST /orders/reservation-lookup`;
   orders' database is the only authority on that) and marks those confirmed: they are
   never looked at again;
3. releases the others, each in its own transaction that re-checks, under the row's lock,
   that it is still open and idle (`FOR UPDATE SKIP LOCKED`): a retry that returned the
   reservation meanwhile, a release by orders or another sweeper wins, and nothing is given
   back twice.

If orders cannot answer, nothing is released (the stock stays held until it can). Why this is
safe: orders writes an order only right after a reservation call returned the reservation,
within one request bounded by timeouts of seconds; the TTL (default 15 minutes) is far
longer, and each returned reservation restarts it. See
docs/decisions/0016-reservation-sweeper.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from catalog.clients import OrdersClient
from catalog.config import CatalogSettings
from catalog.service import ReservationService
from mercato_shared.cache import Cache

logger = logging.getLogger("mercato.catalog.sweeper")


@dataclass(frozen=True, slots=True)
class SweepResult:
    confirmed: int
    released: int


class ReservationSweeper:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        writes: AsyncEngine,
        cache: Cache,
        orders: OrdersClient,
        settings: CatalogSettings,
    ) -> None:
        self._reservations = ReservationService(sessions, writes, cache)
        self._orders = orders
        self._ttl = settings.reservation_ttl_seconds
        self._batch = settings.reservation_sweep_batch

    async def sweep(self) -> SweepResult:
        reservations = self._reservations
        candidates = await reservations.open_ids(idle_seconds=self._ttl, limit=self._batch)
        if not candidates:
            return SweepResult(confirmed=0, released=0)
        ordered = await self._orders.ordered(candidates)
        confirmed = await reservations.confirm([rid for rid in candidates if rid in ordered])
        released = 0
        for reservation_id in candidates:
            if reservation_id in ordered:
                continue
            if await reservations.release_abandoned(reservation_id, idle_seconds=self._ttl):
                released += 1
                logger.warning(
                    "released an abandoned reservation",
                    extra={"reservation_id": str(reservation_id)},
                )
        return SweepResult(confirmed=confirmed, released=released)
