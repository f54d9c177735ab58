"""SQL for stock reservations.

A reservation is made in ONE statement (`_RESERVE`, prebuilt once, its own transaction on
the autocommit view); everything else runs in the caller's session and transaction. Rows of
products are always locked in id order, so a reservation and a release of the same products
never wait on each other in a cycle (a deadlock).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, Uuid, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from catalog.models import Product, Reservation

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


class ReservationWrites:
    """The reservation itself: one statement on `writes`, the autocommit view of the pool."""

    def __init__(self, writes: AsyncEngine) -> None:
        self._writes = writes

    async def reserve(
        self, reservation_id: uuid.UUID, wanted: Sequence[tuple[int, int]]
    ) -> Sequence[Row[Any]]:
        """One row per wanted `(product_id, quantity)`, in product id order: the product's
        locked `id, stock, price, currency, name` (None for an unknown product), the
        `wanted_id` and `quantity`, and `saved` (whether this call reserved)."""
        async with self._writes.connect() as conn:
            result = await conn.execute(
                _RESERVE,
                {
                    "id": reservation_id,
                    "ids": [product_id for product_id, _ in wanted],
                    "quantities": [quantity for _, quantity in wanted],
                },
            )
            return result.all()


class ReservationRepository:
    """Statements in the operation's session; the caller owns the transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, reservation_id: uuid.UUID) -> Reservation | None:
        return await self._session.get(Reservation, reservation_id)

    async def lock(self, reservation_id: uuid.UUID) -> Reservation:
        """The reservation, its row locked until the transaction ends."""
        return await self._session.get_one(Reservation, reservation_id, with_for_update=True)

    async def add_tombstone(self, reservation_id: uuid.UUID) -> bool:
        """Store `reservation_id` as released with no lines unless it exists; whether it did."""
        stored = await self._session.scalar(
            insert(Reservation)
            .values(id=reservation_id, lines=[], released_at=func.now())
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(Reservation.id)
        )
        return stored is not None

    async def touch(self, reservation_id: uuid.UUID) -> None:
        await self._session.execute(
            update(Reservation)
            .where(Reservation.id == reservation_id)
            .values(touched_at=func.now())
        )

    async def open_ids(self, *, idle_seconds: int, limit: int) -> list[uuid.UUID]:
        """Open reservations untouched for `idle_seconds`, oldest first (served by
        `ix_reservations_open_touched_at`)."""
        rows = await self._session.scalars(
            select(Reservation.id)
            .where(_idle(idle_seconds))
            .order_by(Reservation.touched_at)
            .limit(limit)
        )
        return list(rows.all())

    async def confirm(self, reservation_ids: Sequence[uuid.UUID]) -> int:
        """Mark the open ones among `reservation_ids` confirmed; how many were."""
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

    async def lock_idle(
        self, reservation_id: uuid.UUID, *, idle_seconds: int
    ) -> Reservation | None:
        """The reservation, locked, if it is still open and idle; None as well when another
        transaction holds its row (skipped, never waited for)."""
        return await self._session.scalar(
            select(Reservation)
            .where(Reservation.id == reservation_id, _idle(idle_seconds))
            .with_for_update(skip_locked=True)
        )

    async def give_back(self, reservation: Reservation) -> list[int]:
        """Return the reservation's stock and mark it released; the products' ids."""
        lines = sorted(reservation.lines, key=lambda line: int(line["product_id"]))
        ids = [int(line["product_id"]) for line in lines]
        # The same lock order as `_RESERVE`.
        await self._session.execute(
            select(Product.id).where(Product.id.in_(ids)).order_by(Product.id).with_for_update()
        )
        await self._session.execute(
            _GIVE_BACK, {"ids": ids, "quantities": [int(line["quantity"]) for line in lines]}
        )
        reservation.released_at = datetime.now(UTC)
        return ids


def _idle(idle_seconds: int) -> ColumnElement[bool]:
    """Neither released nor confirmed, and untouched for `idle_seconds`."""
    return (
        Reservation.released_at.is_(None)
        & Reservation.confirmed_at.is_(None)
        & (Reservation.touched_at < func.now() - timedelta(seconds=idle_seconds))
    )
