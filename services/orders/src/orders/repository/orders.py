"""SQL for orders. Pages are keyset walks of an index; items come in one extra query; an
order is written in one statement."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import (
    ColumnElement,
    Row,
    String,
    Uuid,
    bindparam,
    literal_column,
    select,
    text,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import selectinload

from orders.models import Order

# The order, its items (in the order given) and, with a key, the key's outcome: data-modifying
# CTEs of one statement, so they commit together or not at all. A second order with the same
# reservation id breaks the unique index (IntegrityError) and writes nothing.
_WRITE_ORDER = text(
    """
    WITH new_order AS (
        INSERT INTO orders (user_id, reservation_id, status, currency, total)
        VALUES (:user_id, :reservation_id, 'confirmed', :currency, :total)
        RETURNING id, created_at
    ), new_items AS (
        INSERT INTO order_items (order_id, product_id, name, quantity, unit_price)
        SELECT new_order.id, line.product_id, line.name, line.quantity, line.unit_price
        FROM new_order, unnest(
            CAST(:product_ids AS bigint[]), CAST(:names AS varchar[]),
            CAST(:quantities AS integer[]), CAST(:unit_prices AS numeric[])
        ) WITH ORDINALITY AS line(product_id, name, quantity, unit_price, position)
        ORDER BY line.position
    ), outcome AS (
        UPDATE idempotency_keys SET order_id = new_order.id, status_code = 201
        FROM new_order
        WHERE idempotency_keys.user_id = :user_id AND idempotency_keys.key = :key
    )
    SELECT id, created_at FROM new_order
    """
).bindparams(bindparam("reservation_id", type_=Uuid()), bindparam("key", type_=String()))


# An order as `OrderOut` reads (money as decimal strings, items in their order), built by
# Postgres for the export: a page of a thousand orders costs this process no model and no
# encoder per order (tests/integration/test_orders.py holds it to OrderOut).
_ORDER_JSON: ColumnElement[str] = literal_column(
    "CAST(json_build_object("
    "'id', orders.id, 'user_id', orders.user_id, 'status', orders.status, "
    "'currency', orders.currency, 'total', CAST(orders.total AS text), "
    "'created_at', orders.created_at, "
    "'items', coalesce((SELECT json_agg(json_build_object("
    "'product_id', item.product_id, 'name', item.name, 'quantity', item.quantity, "
    "'unit_price', CAST(item.unit_price AS text)) ORDER BY item.id) "
    "FROM order_items AS item WHERE item.order_id = orders.id), '[]')) AS text)"
)


class PricedLine(NamedTuple):
    product_id: int
    name: str
    quantity: int
    unit_price: Decimal


class OrderRepository:
    """Reads, in the operation's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def page_for_user(
        self, user_id: int, *, before_id: int | None, limit: int
    ) -> Sequence[Order]:
        """Newest first: `WHERE user_id = :u AND id < :before ORDER BY id DESC LIMIT :n`,
        then every item of the page in one `WHERE order_id IN (...)` (selectinload)."""
        query = (
            select(Order)
            .where(Order.user_id == user_id)
            .order_by(Order.id.desc())
            .limit(limit)
            .options(selectinload(Order.items))
        )
        if before_id is not None:
            query = query.where(Order.id < before_id)
        return (await self._session.scalars(query)).all()

    async def export_page(
        self,
        *,
        since: datetime,
        until: datetime,
        after: tuple[datetime, int] | None,
        limit: int,
        user_id: int | None = None,
    ) -> Sequence[Row[str, datetime, int]]:
        """A keyset page of the export: each order as its JSON (built by Postgres, items
        included), with its `(created_at, id)` for the cursor."""
        query = (
            select(_ORDER_JSON.label("body"), Order.created_at, Order.id)
            .where(Order.created_at >= since, Order.created_at < until)
            .order_by(Order.created_at, Order.id)
            .limit(limit)
        )
        if user_id is not None:  # walks (user_id, created_at, id)
            query = query.where(Order.user_id == user_id)
        if after is not None:
            query = query.where(tuple_(Order.created_at, Order.id) > tuple_(*after))
        return (await self._session.execute(query)).all()

    async def get_for_user(self, order_id: int, user_id: int) -> Order | None:
        return await self._session.scalar(
            select(Order)
            .where(Order.id == order_id, Order.user_id == user_id)
            .options(selectinload(Order.items))
        )

    async def ordered_reservations(self, reservation_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        """Which of these reservation ids an order holds (the unique reservation_id index)."""
        rows = await self._session.scalars(
            select(Order.reservation_id).where(Order.reservation_id.in_(reservation_ids))
        )
        return list(rows.all())


class OrderWrites:
    """The order's write: one statement on `writes`, an autocommit view of the pool
    (`mercato_shared.db.autocommit`), its own transaction without BEGIN or COMMIT."""

    def __init__(self, writes: AsyncEngine) -> None:
        self._writes = writes

    async def create(
        self,
        *,
        user_id: int,
        reservation_id: uuid.UUID,
        currency: str,
        lines: Sequence[PricedLine],
        idempotency_key: str | None,
    ) -> tuple[int, datetime]:
        """Insert the order, its items and the key's outcome as ONE statement (one round
        trip, its own transaction); the new order's id and creation time."""
        total = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))
        async with self._writes.connect() as conn:
            row = (
                await conn.execute(
                    _WRITE_ORDER,
                    {
                        "user_id": user_id,
                        "reservation_id": reservation_id,
                        "currency": currency,
                        "total": total,
                        "product_ids": [line.product_id for line in lines],
                        "names": [line.name for line in lines],
                        "quantities": [line.quantity for line in lines],
                        "unit_prices": [line.unit_price for line in lines],
                        "key": idempotency_key,
                    },
                )
            ).one()
        return row.id, row.created_at
