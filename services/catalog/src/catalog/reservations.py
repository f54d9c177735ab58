"""Stock reservations: all lines or none, never below zero, never twice for one id.

One statement per reservation (`_RESERVE`, its own transaction):

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
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Uuid, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from catalog.errors import OutOfStockError, ReservationConflictError, UnknownProductError
from catalog.models import Product, Reservation
from catalog.reservation_schemas import ReservationIn, ReservationOut, ReservedLine
from catalog.service import product_key
from mercato_shared.cache import Cache
from mercato_shared.errors import NotFoundError

_GIVE_BACK = text(
    "UPDATE products AS p SET stock = p.stock + l.quantity, updated_at = now() "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:quantities AS integer[])) AS l(id, quantity) "
    "WHERE p.id = l.id"
)


# A reservation made in ONE statement (its own transaction, one round trip): lock the
# products in id order (so concurrent multi-line reservations queue instead of deadlocking;
# the lock returns each row as last committed), then, only if every product exists and has
# the stock, store the reservation with its lines and prices, and only if that stored it (a
# new id) take the stock. One row per wanted line, in product id order: the product's
# locked values (NULL for an unknown product) and whether the reservation was saved.
_RESERVE = text(
    """
    WITH wanted AS (
        SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:quantities AS integer[]))
            AS w(id, quantity)
    ), locked AS MATERIALIZED (
        SELECT p.id, p.stock, p.price, p.currency, p.name FROM products AS p
        WHERE p.id = ANY(CAST(:ids AS bigint[])) ORDER BY p.id FOR UPDATE
    ), enough AS (
        SELECT count(*) = cardinality(CAST(:ids AS bigint[]))
            AND coalesce(bool_and(l.stock >= w.quantity), false) AS ok
        FROM wanted AS w JOIN locked AS l USING (id)
    ), saved AS (
        INSERT INTO reservations (id, lines)
        SELECT :id, lines FROM enough, (
            SELECT jsonb_agg(jsonb_build_object(
                'product_id', l.id, 'quantity', w.quantity, 'unit_price', CAST(l.price AS text),
                'currency', l.currency, 'name', l.name) ORDER BY l.id) AS lines
            FROM wanted AS w JOIN locked AS l USING (id)
        ) AS reserved
        WHERE enough.ok
        ON CONFLICT (id) DO NOTHING
        RETURNING id
    ), taken AS (
        UPDATE products AS p SET stock = p.stock - w.quantity, updated_at = now()
        FROM wanted AS w
        WHERE p.id = w.id AND EXISTS (SELECT FROM saved)
        RETURNING p.id
    )
    SELECT w.id AS wanted_id, w.quantity, l.id, l.stock, l.price, l.currency, l.name,
        EXISTS (SELECT FROM saved) AND (SELECT count(*) FROM taken) = cardinality(
            CAST(:ids AS bigint[])) AS saved
    FROM wanted AS w LEFT JOIN locked AS l USING (id)
    ORDER BY w.id
    """
).bindparams(bindparam("id", type_=Uuid()))


class ReservationService:
    """Each operation opens its own session (a reservation opens none on its way to success)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], writes: AsyncEngine, cache: Cache
    ) -> None:
        self._sessions = sessions
        self._writes = writes
        self._cache = cache

    async def reserve(self, request: ReservationIn) -> tuple[ReservationOut, bool]:
        """The reservation and whether it was made now (False: an earlier identical one)."""
        wanted = [(line.product_id, line.quantity) for line in request.lines]
        ids = [product_id for product_id, _ in wanted]
        async with self._writes.connect() as conn:
            rows = (
                await conn.execute(
                    _RESERVE,
                    {"id": request.id, "ids": ids, "quantities": [q for _, q in wanted]},
                )
            ).all()
        if rows and rows[0].saved:
            await self._evict(ids)
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
            if await session.get(Reservation, request.id) is not None:
                return await self._existing(session, request.id, wanted), False
        if unknown := [row.wanted_id for row in rows if row.id is None]:
            raise UnknownProductError(unknown)
        raise OutOfStockError([row.id for row in rows if row.stock < row.quantity])

    async def release(self, reservation_id: uuid.UUID) -> None:
        """Give the stock back (idempotent). An unknown id leaves a released tombstone."""
        async with self._sessions() as session, session.begin():
            tombstone = await session.scalar(
                insert(Reservation)
                .values(id=reservation_id, lines=[], released_at=func.now())
                .on_conflict_do_nothing(index_elements=["id"])
                .returning(Reservation.id)
            )
            if tombstone is not None:
                return
            reservation = await session.get_one(Reservation, reservation_id, with_for_update=True)
            if reservation.released_at is not None:
                return
            ids = await _give_back(session, reservation)
        await self._evict(ids)

    async def open_ids(self, *, idle_seconds: int, limit: int) -> list[uuid.UUID]:
        """Reservations neither released nor confirmed, untouched for `idle_seconds`, oldest
        first (the sweeper's candidates; served by `ix_reservations_open_touched_at`)."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Reservation.id)
                .where(_idle(idle_seconds))
                .order_by(Reservation.touched_at)
                .limit(limit)
            )
            return list(rows.all())

    async def confirm(self, reservation_ids: list[uuid.UUID]) -> int:
        """Mark reservations orders wrote an order with: the sweeper never releases them."""
        if not reservation_ids:
            return 0
        async with self._sessions() as session, session.begin():
            confirmed = await session.scalars(
                update(Reservation)
                .where(
                    Reservation.id.in_(reservation_ids),
                    Reservation.released_at.is_(None),
                    Reservation.confirmed_at.is_(None),
                )
                .values(confirmed_at=func.now())
                .returning(Reservation.id)
            )
            return len(confirmed.all())

    async def release_abandoned(self, reservation_id: uuid.UUID, *, idle_seconds: int) -> bool:
        """Release the reservation if it is still open and idle (re-checked under its row
        lock); whether this call released it. A row another transaction holds (a release,
        a retried reservation, another sweeper) is skipped, never waited for."""
        async with self._sessions() as session, session.begin():
            reservation = await session.scalar(
                select(Reservation)
                .where(Reservation.id == reservation_id, _idle(idle_seconds))
                .with_for_update(skip_locked=True)
            )
            if reservation is None:
                return False
            ids = await _give_back(session, reservation)
        await self._evict(ids)
        return True

    async def get(self, reservation_id: uuid.UUID) -> ReservationOut:
        async with self._sessions() as session:
            reservation = await session.get(Reservation, reservation_id)
        if reservation is None:
            raise NotFoundError(f"Reservation {reservation_id} does not exist.")
        return _out(reservation)

    async def _existing(
        self, session: AsyncSession, reservation_id: uuid.UUID, wanted: list[tuple[int, int]]
    ) -> ReservationOut:
        # Locked, so a sweeper deciding about this row waits for this answer (or skips it).
        reservation = await session.get_one(Reservation, reservation_id, with_for_update=True)
        out = _out(reservation)
        if out.released:
            msg = f"Reservation {reservation_id} was released."
            raise ReservationConflictError(msg)
        if [(line.product_id, line.quantity) for line in out.lines] != wanted:
            msg = f"Reservation {reservation_id} exists with other lines."
            raise ReservationConflictError(msg)
        # A retry returns the stock to a caller that may now write its order: the sweeper
        # waits another full TTL before it considers this reservation again.
        await session.execute(
            update(Reservation)
            .where(Reservation.id == reservation_id)
            .values(touched_at=func.now())
        )
        return out

    async def _evict(self, product_ids: list[int]) -> None:
        if product_ids:
            await self._cache.invalidate(*(product_key(product_id) for product_id in product_ids))


async def _give_back(session: AsyncSession, reservation: Reservation) -> list[int]:
    lines = sorted(reservation.lines, key=lambda line: int(line["product_id"]))
    ids = [int(line["product_id"]) for line in lines]
    # The same lock order as `reserve`, so a release and a reservation of the same
    # products never wait on each other in a cycle (a deadlock).
    await session.execute(
        select(Product.id).where(Product.id.in_(ids)).order_by(Product.id).with_for_update()
    )
    await session.execute(
        _GIVE_BACK, {"ids": ids, "quantities": [int(line["quantity"]) for line in lines]}
    )
    reservation.released_at = datetime.now(UTC)
    return ids


def _out(reservation: Reservation) -> ReservationOut:
    return ReservationOut(
        id=reservation.id,
        lines=[ReservedLine.model_validate(line) for line in reservation.lines],
        released=reservation.released_at is not None,
    )


def _idle(idle_seconds: int) -> ColumnElement[bool]:
    return (
        Reservation.released_at.is_(None)
        & Reservation.confirmed_at.is_(None)
        & (Reservation.touched_at < func.now() - timedelta(seconds=idle_seconds))
    )
