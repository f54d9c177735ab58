"""Stock reservations: all lines or none, never below zero, never twice for one id.

One statement per reservation (`catalog.repository.reservations`, its own transaction):

1. lock the products in id order (`SELECT ... ORDER BY id FOR UPDATE`), so concurrent
   multi-line reservations queue instead of deadlocking;
2. if every product exists and has the stock, insert the reservation with its lines and
   prices (`INSERT ... ON CONFLICT DO NOTHING`), and only if that inserted it take the stock;
   otherwise nothing changes;
3. when nothing was taken: an existing id with the same lines returns what was reserved then
   (a retry), with other lines or released it is a conflict; a new id names its unknown
   products (409 `unknown_product`) or those short of stock (409 `out_of_stock`).

Two concurrent orders for the last unit therefore serialise on the product's row lock and
exactly one succeeds (`stock >= 0` is also a constraint of the table). Changed products are
evicted from the cache after the commit.

A reservation no order completes (orders died between reserving and writing) is released by
the sweeper (catalog.sweeper) with `release_abandoned`, under the same row lock as a release.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from catalog.errors import OutOfStockError, ReservationConflictError, UnknownProductError
from catalog.models import Reservation
from catalog.repository.reservations import ReservationRepository, ReservationWrites
from catalog.schemas import ReservationIn, ReservationOut, ReservedLine
from catalog.service.products import product_key
from mercato_shared.cache import Cache
from mercato_shared.errors import NotFoundError


class ReservationService:
    """The reservations of one process (built once, in its lifespan). Each operation opens
    its own session (a reservation opens none on its way to success)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], writes: AsyncEngine, cache: Cache
    ) -> None:
        self._sessions = sessions
        self._writes = ReservationWrites(writes)
        self._cache = cache

    async def reserve(self, request: ReservationIn) -> tuple[ReservationOut, bool]:
        """The reservation and whether it was made now (False: an earlier identical one)."""
        wanted = [(line.product_id, line.quantity) for line in request.lines]
        rows = await self._writes.reserve(request.id, wanted)
        if rows and rows[0].saved:
            await self._evict([product_id for product_id, _ in wanted])
            lines = [
                ReservedLine(
                    product_id=row.id,
                    quantity=row.quantity,
                    unit_price=row.price,
                    currency=row.currency,
                    name=row.name,
                )
                for row in rows
            ]
            return ReservationOut(id=request.id, lines=lines), True
        # Nothing was taken: the id exists already (a retry, or released), or a line failed.
        async with self._sessions() as session, session.begin():
            reservations = ReservationRepository(session)
            if await reservations.get(request.id) is not None:
                return await _existing(reservations, request.id, wanted), False
        if unknown := [row.wanted_id for row in rows if row.id is None]:
            raise UnknownProductError(unknown)
        raise OutOfStockError([row.id for row in rows if row.stock < row.quantity])

    async def release(self, reservation_id: uuid.UUID) -> None:
        """Give the stock back (idempotent). An unknown id leaves a released tombstone."""
        async with self._sessions() as session, session.begin():
            reservations = ReservationRepository(session)
            if await reservations.add_tombstone(reservation_id):
                return
            reservation = await reservations.lock(reservation_id)
            if reservation.released_at is not None:
                return
            ids = await reservations.give_back(reservation)
        await self._evict(ids)

    async def open_ids(self, *, idle_seconds: int, limit: int) -> list[uuid.UUID]:
        """Reservations neither released nor confirmed, untouched for `idle_seconds`, oldest
        first (the sweeper's candidates)."""
        async with self._sessions() as session:
            return await ReservationRepository(session).open_ids(
                idle_seconds=idle_seconds, limit=limit
            )

    async def confirm(self, reservation_ids: list[uuid.UUID]) -> int:
        """Mark reservations orders wrote an order with: the sweeper never releases them."""
        if not reservation_ids:
            return 0
        async with self._sessions() as session, session.begin():
            return await ReservationRepository(session).confirm(reservation_ids)

    async def release_abandoned(self, reservation_id: uuid.UUID, *, idle_seconds: int) -> bool:
        """Release the reservation if it is still open and idle (re-checked under its row
        lock); whether this call released it. A row another transaction holds (a release,
        a retried reservation, another sweeper) is skipped, never waited for."""
        async with self._sessions() as session, session.begin():
            reservations = ReservationRepository(session)
            reservation = await reservations.lock_idle(reservation_id, idle_seconds=idle_seconds)
            if reservation is None:
                return False
            ids = await reservations.give_back(reservation)
        await self._evict(ids)
        return True

    async def get(self, reservation_id: uuid.UUID) -> ReservationOut:
        async with self._sessions() as session:
            reservation = await ReservationRepository(session).get(reservation_id)
        if reservation is None:
            raise NotFoundError(f"Reservation {reservation_id} does not exist.")
        return _out(reservation)

    async def _evict(self, product_ids: list[int]) -> None:
        if product_ids:
            await self._cache.invalidate(*(product_key(product_id) for product_id in product_ids))


async def _existing(
    reservations: ReservationRepository, reservation_id: uuid.UUID, wanted: list[tuple[int, int]]
) -> ReservationOut:
    # Locked, so a sweeper deciding about this row waits for this answer (or skips it).
    out = _out(await reservations.lock(reservation_id))
    if out.released:
        msg = f"Reservation {reservation_id} was released."
        raise ReservationConflictError(msg)
    if [(line.product_id, line.quantity) for line in out.lines] != wanted:
        msg = f"Reservation {reservation_id} exists with other lines."
        raise ReservationConflictError(msg)
    # A retry returns the stock to a caller that may now write its order: the sweeper
    # waits another full TTL before it considers this reservation again.
    await reservations.touch(reservation_id)
    return out


def _out(reservation: Reservation) -> ReservationOut:
    return ReservationOut(
        id=reservation.id,
        lines=[ReservedLine.model_validate(line) for line in reservation.lines],
        released=reservation.released_at is not None,
    )
