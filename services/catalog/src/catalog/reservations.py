"""Stock reservations: all lines or none, never below zero, never twice for one id.

One transaction per reservation:

1. claim the id (`INSERT ... ON CONFLICT DO NOTHING`); an existing id with the same lines
   returns what was reserved then (a retry), with other lines it is a conflict;
2. lock the products in id order (`SELECT ... ORDER BY id FOR UPDATE`), so concurrent
   multi-line reservations queue instead of deadlocking;
3. `UPDATE products SET stock = stock - q WHERE id = :id AND stock >= q` for every line in
   one statement; a line it did not update had too little stock and the whole transaction
   rolls back (409 `out_of_stock` naming the products).

Two concurrent orders for the last unit therefore serialise on the product's row lock and
exactly one succeeds. Changed products are evicted from the cache after the commit.

A reservation no order completes (orders died between reserving and writing) is released by
the sweeper (catalog.sweeper) with `release_abandoned`, under the same row lock as a release.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.errors import OutOfStockError, ReservationConflictError, UnknownProductError
from catalog.models import Product, Reservation
from catalog.reservation_schemas import ReservationIn, ReservationOut, ReservedLine
from catalog.service import product_key
from mercato_shared.cache import Cache
from mercato_shared.errors import NotFoundError

_TAKE = text(
    "UPDATE products AS p SET stock = p.stock - l.quantity, updated_at = now() "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:quantities AS integer[])) AS l(id, quantity) "
    "WHERE p.id = l.id AND p.stock >= l.quantity "
    "RETURNING p.id, p.price, p.currency, p.name"
).bindparams(bindparam("ids"), bindparam("quantities"))

_GIVE_BACK = text(
    "UPDATE products AS p SET stock = p.stock + l.quantity, updated_at = now() "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:quantities AS integer[])) AS l(id, quantity) "
    "WHERE p.id = l.id"
)


class ReservationService:
    def __init__(self, session: AsyncSession, cache: Cache) -> None:
        self._session = session
        self._cache = cache

    async def reserve(self, request: ReservationIn) -> tuple[ReservationOut, bool]:
        """The reservation and whether it was made now (False: an earlier identical one)."""
        wanted = [(line.product_id, line.quantity) for line in request.lines]
        async with self._session.begin():
            claimed = await self._session.scalar(
                insert(Reservation)
                .values(id=request.id, lines=[])
                .on_conflict_do_nothing(index_elements=["id"])
                .returning(Reservation.id)
            )
            if claimed is None:
                return await self._existing(request.id, wanted), False
            ids = [product_id for product_id, _ in wanted]
            locked = set(
                (
                    await self._session.scalars(
                        select(Product.id)
                        .where(Product.id.in_(ids))
                        .order_by(Product.id)
                        .with_for_update()
                    )
                ).all()
            )
            if unknown := [product_id for product_id in ids if product_id not in locked]:
                raise UnknownProductError(unknown)
            taken = {
                row.id: row
                for row in await self._session.execute(
                    _TAKE, {"ids": ids, "quantities": [quantity for _, quantity in wanted]}
                )
            }
            if short := [product_id for product_id in ids if product_id not in taken]:
                raise OutOfStockError(short)
            lines = [
                ReservedLine(
                    product_id=product_id,
                    quantity=quantity,
                    unit_price=taken[product_id].price,
                    currency=taken[product_id].currency,
                    name=taken[product_id].name,
                )
                for product_id, quantity in wanted
            ]
            reservation = await self._session.get_one(Reservation, request.id)
            reservation.lines = [line.model_dump(mode="json") for line in lines]
        await self._evict(ids)
        return ReservationOut(id=request.id, lines=lines), True

    async def release(self, reservation_id: uuid.UUID) -> None:
        """Give the stock back (idempotent). An unknown id leaves a released tombstone."""
        async with self._session.begin():
            tombstone = await self._session.scalar(
                insert(Reservation)
                .values(id=reservation_id, lines=[], released_at=func.now())
                .on_conflict_do_nothing(index_elements=["id"])
                .returning(Reservation.id)
            )
            if tombstone is not None:
                return
            reservation = await self._session.get_one(
                Reservation, reservation_id, with_for_update=True
            )
            if reservation.released_at is not None:
                return
            ids = await self._give_back(reservation)
        await self._evict(ids)

    async def open_ids(self, *, idle_seconds: int, limit: int) -> list[uuid.UUID]:
        """Reservations neither released nor confirmed, untouched for `idle_seconds`, oldest
        first (the sweeper's candidates; served by `ix_reservations_open_touched_at`)."""
        rows = await self._session.scalars(
            select(Reservation.id)
            .where(_idle(idle_seconds))
            .order_by(Reservation.touched_at)
            .limit(limit)
        )
        ids = list(rows.all())
        await self._session.commit()
        return ids

    async def confirm(self, reservation_ids: list[uuid.UUID]) -> int:
        """Mark reservations orders wrote an order with: the sweeper never releases them."""
        if not reservation_ids:
            return 0
        async with self._session.begin():
            confirmed = await self._session.scalars(
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
        async with self._session.begin():
            reservation = await self._session.scalar(
                select(Reservation)
                .where(Reservation.id == reservation_id, _idle(idle_seconds))
                .with_for_update(skip_locked=True)
            )
            if reservation is None:
                return False
            ids = await self._give_back(reservation)
        await self._evict(ids)
        return True

    async def _give_back(self, reservation: Reservation) -> list[int]:
        lines = sorted(reservation.lines, key=lambda line: int(line["product_id"]))
        ids = [int(line["product_id"]) for line in lines]
        # The same lock order as `reserve`, so a release and a reservation of the same
        # products never wait on each other in a cycle (a deadlock).
        await self._session.execute(
            select(Product.id).where(Product.id.in_(ids)).order_by(Product.id).with_for_update()
        )
        await self._session.execute(
            _GIVE_BACK, {"ids": ids, "quantities": [int(line["quantity"]) for line in lines]}
        )
        reservation.released_at = datetime.now(UTC)
        return ids

    async def get(self, reservation_id: uuid.UUID) -> ReservationOut:
        reservation = await self._session.get(Reservation, reservation_id)
        if reservation is None:
            raise NotFoundError(f"Reservation {reservation_id} does not exist.")
        return _out(reservation)

    async def _existing(
        self, reservation_id: uuid.UUID, wanted: list[tuple[int, int]]
    ) -> ReservationOut:
        # Locked, so a sweeper deciding about this row waits for this answer (or skips it).
        reservation = await self._session.get_one(Reservation, reservation_id, with_for_update=True)
        out = _out(reservation)
        if out.released:
            msg = f"Reservation {reservation_id} was released."
            raise ReservationConflictError(msg)
        if [(line.product_id, line.quantity) for line in out.lines] != wanted:
            msg = f"Reservation {reservation_id} exists with other lines."
            raise ReservationConflictError(msg)
        # A retry returns the stock to a caller that may now write its order: the sweeper
        # waits another full TTL before it considers this reservation again.
        await self._session.execute(
            update(Reservation)
            .where(Reservation.id == reservation_id)
            .values(touched_at=func.now())
        )
        return out

    async def _evict(self, product_ids: list[int]) -> None:
        if product_ids:
            await self._cache.invalidate(*(product_key(product_id) for product_id in product_ids))


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
