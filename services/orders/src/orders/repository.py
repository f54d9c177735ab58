"""SQL for orders. Pages are keyset walks of an index; items come in one extra query."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from orders.models import IdempotencyKey, Order, OrderItem


class OrderRepository:
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

    async def page_by_time(
        self,
        *,
        since: datetime,
        until: datetime,
        after: tuple[datetime, int] | None,
        limit: int,
        user_id: int | None = None,
    ) -> Sequence[Order]:
        query = (
            select(Order)
            .where(Order.created_at >= since, Order.created_at < until)
            .order_by(Order.created_at, Order.id)
            .limit(limit)
            .options(selectinload(Order.items))
        )
        if user_id is not None:  # walks (user_id, created_at, id)
            query = query.where(Order.user_id == user_id)
        if after is not None:
            query = query.where(tuple_(Order.created_at, Order.id) > tuple_(*after))
        return (await self._session.scalars(query)).all()

    async def get_for_user(self, order_id: int, user_id: int) -> Order | None:
        return await self._session.scalar(
            select(Order)
            .where(Order.id == order_id, Order.user_id == user_id)
            .options(selectinload(Order.items))
        )

    async def create(
        self,
        *,
        user_id: int,
        reservation_id: uuid.UUID,
        currency: str,
        lines: Sequence[tuple[int, str, int, Decimal]],
        idempotency_key: str | None,
    ) -> int:
        """Insert the order, its items and the key's outcome in ONE transaction."""
        total = sum((price * quantity for _, _, quantity, price in lines), Decimal("0"))
        order = Order(
            user_id=user_id,
            reservation_id=reservation_id,
            status="confirmed",
            currency=currency,
            total=total,
        )
        self._session.add(order)
        await self._session.flush()
        self._session.add_all(
            OrderItem(order_id=order.id, product_id=pid, name=name, quantity=qty, unit_price=price)
            for pid, name, qty, price in lines
        )
        if idempotency_key is not None:
            key = await self._session.get_one(IdempotencyKey, (user_id, idempotency_key))
            key.order_id, key.status_code = order.id, 201
        await self._session.commit()
        return order.id

    async def ordered_reservations(self, reservation_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        """Which of these reservation ids an order holds (the unique reservation_id index)."""
        rows = await self._session.scalars(
            select(Order.reservation_id).where(Order.reservation_id.in_(reservation_ids))
        )
        return list(rows.all())
