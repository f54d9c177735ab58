"""Orders logic: idempotent creation with stock reserved in catalog, reads, the export and
the sales summary.

Creating an order:
1. with an `Idempotency-Key`, claim `(user, key)` bound to the body's hash (committed
   first, so a concurrent duplicate finds the claim and never creates a second order; a
   short lease renewed while this request works, see `orders.service.claims`); an existing key
   replays its order (same body) or is 422 `idempotency_key_reused`;
2. reserve the stock in catalog under the claim's reservation id (all lines or none); the
   reservation returns catalog's prices, the only prices orders ever uses;
3. write the order, its items and the key's outcome in one statement, and answer with
   what was written;
4. if anything fails after the reservation, release it (compensation) and free the claim,
   so the same key can be retried at once.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mercato_shared.errors import AppError, DependencyUnavailableError, NotFoundError
from mercato_shared.telemetry import AttributeValue, annotate
from orders.clients import CatalogClient, Reservation, ReservationReleasedError
from orders.errors import (
    IdempotencyKeyInProgressError,
    IdempotencyKeyReusedError,
    MixedCurrenciesError,
)
from orders.pagination import (
    decode_id_cursor,
    decode_time_cursor,
    encode_id_cursor,
    encode_time_cursor,
)
from orders.repository.orders import OrderRepository, OrderWrites, PricedLine
from orders.repository.sales import SalesRepository
from orders.schemas import ItemOut, OrderCreate, OrderOut, OrderPage
from orders.service.claims import Claims

logger = logging.getLogger("mercato.orders")


class _Attempt:
    """One request's attempt at an order: whether stock may be held under its reservation
    id (its error path keeps the claim's reservation id then, so a retry does not take the
    stock twice)."""

    __slots__ = ("reservation_held",)

    def __init__(self) -> None:
        self.reservation_held = False


class OrderService:
    """The orders logic of one process (built once, in its lifespan). Each operation opens
    its own session for its reads; an order's write is one statement on the autocommit view."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        writes: AsyncEngine,
        catalog: CatalogClient,
        claims: Claims,
    ) -> None:
        self._sessions = sessions
        self._writes = OrderWrites(writes)
        self._catalog = catalog
        self._claims = claims

    async def create(
        self, user_id: int, body: OrderCreate, idempotency_key: str | None
    ) -> tuple[OrderOut, int]:
        """The order and the HTTP status to answer with (201, or the stored one on replay)."""
        annotate(
            **{
                "mercato.order.lines": len(body.items),
                "mercato.order.idempotency_key": idempotency_key is not None,
            }
        )
        attempt = _Attempt()
        if idempotency_key is None:
            order = await self._create(attempt, user_id, body, None, uuid.uuid4())
            return order, 201
        key, holder = idempotency_key, uuid.uuid4()
        claimed = await self._claims.claim(user_id, key, body.fingerprint(), holder)
        if claimed is None:
            order, status = await self._replay(user_id, key, body)
            annotate(**order_attributes(order, replayed=True))
            return order, status
        async with self._claims.held(user_id, key, holder):
            try:
                order = await self._create(attempt, user_id, body, (key, holder), claimed)
            except IdempotencyKeyInProgressError:
                raise  # another request wrote this reservation's order: the claim is its
            except BaseException:
                await self._claims.release(
                    user_id, key, holder, reservation_held=attempt.reservation_held
                )
                raise
        return order, 201

    async def _reserve(
        self,
        attempt: _Attempt,
        user_id: int,
        claim: tuple[str, uuid.UUID] | None,
        reservation_id: uuid.UUID,
        lines: list[tuple[int, int]],
    ) -> Reservation:
        attempt.reservation_held = True
        try:
            try:
                return await self._catalog.reserve(reservation_id, lines)
            except ReservationReleasedError:
                if claim is None:
                    raise DependencyUnavailableError("Catalog refused the reservation.") from None
                # A claim taken over after its first request released the reservation but
                # could not say so: the stock is back, so reserve afresh under a new id.
                key, holder = claim
                reservation_id = await self._claims.rotate(user_id, key, holder)
                return await self._catalog.reserve(reservation_id, lines)
        except DependencyUnavailableError:
            # The reservation may have been made before the answer was lost: release it
            # (an unknown id leaves a tombstone, so a late arrival cannot take stock).
            await self._compensate(attempt, reservation_id)
            raise
        except AppError:
            attempt.reservation_held = False  # refused (out of stock, unknown product)
            raise

    async def _create(
        self,
        attempt: _Attempt,
        user_id: int,
        body: OrderCreate,
        claim: tuple[str, uuid.UUID] | None,
        reservation_id: uuid.UUID,
    ) -> OrderOut:
        """Reserve the lines in catalog, then write the order in one statement."""
        annotate(**{"mercato.order.reservation_id": str(reservation_id)})
        lines = [(item.product_id, item.quantity) for item in body.items]
        reservation = await self._reserve(attempt, user_id, claim, reservation_id, lines)
        try:
            currencies = {line.currency for line in reservation.lines}
            if len(currencies) != 1:
                raise MixedCurrenciesError
            currency, priced = currencies.pop(), _priced(reservation)
            order_id, created_at = await self._writes.create(
                user_id=user_id,
                reservation_id=reservation.id,
                currency=currency,
                lines=priced,
                idempotency_key=None if claim is None else claim[0],
            )
        except IntegrityError:
            # Another request already wrote an order with this reservation (it outlived its
            # claim, which this one took over): the stock is that order's, so keep it.
            raise IdempotencyKeyInProgressError from None
        except BaseException:
            await self._compensate(attempt, reservation.id)
            raise
        # What was written, as a read would return it (no second round trip to read it).
        order = OrderOut(
            id=order_id,
            user_id=user_id,
            status="confirmed",
            currency=currency,
            total=sum((line.unit_price * line.quantity for line in priced), Decimal("0")),
            created_at=created_at,
            items=[ItemOut.model_validate(line, from_attributes=True) for line in priced],
        )
        annotate(**order_attributes(order, replayed=False))
        return order

    async def _compensate(self, attempt: _Attempt, reservation_id: uuid.UUID) -> None:
        try:
            await self._catalog.release(reservation_id)
        except AppError:
            # The reservation stays taken; the log line names it for a manual release.
            logger.exception("could not release reservation %s", reservation_id)
            return
        attempt.reservation_held = False

    async def _replay(self, user_id: int, key: str, body: OrderCreate) -> tuple[OrderOut, int]:
        stored = await self._claims.get(user_id, key)
        if stored is None:  # the first attempt failed and dropped its claim meanwhile
            raise IdempotencyKeyInProgressError
        if stored.request_hash != body.fingerprint():
            raise IdempotencyKeyReusedError
        if stored.order_id is None or stored.status_code is None:
            raise IdempotencyKeyInProgressError
        return await self.get(user_id, stored.order_id), stored.status_code

    async def get(self, user_id: int, order_id: int) -> OrderOut:
        async with self._sessions() as session:
            order = await OrderRepository(session).get_for_user(order_id, user_id)
        if order is None:  # another user's order is as absent as a missing one
            raise NotFoundError(f"Order {order_id} does not exist.")
        return OrderOut.model_validate(order)

    async def list_for_user(self, user_id: int, *, cursor: str | None, limit: int) -> OrderPage:
        before = decode_id_cursor(cursor) if cursor is not None else None
        async with self._sessions() as session:
            rows = await OrderRepository(session).page_for_user(
                user_id, before_id=before, limit=limit + 1
            )
        items = [OrderOut.model_validate(row) for row in rows[:limit]]
        next_cursor = encode_id_cursor(items[-1].id) if len(rows) > limit else None
        return OrderPage(items=items, next_cursor=next_cursor)

    async def export(
        self,
        *,
        since: datetime,
        until: datetime,
        cursor: str | None,
        limit: int,
        user_id: int | None = None,
    ) -> bytes:
        """A page of the export as the JSON of an `OrderPage` (the orders' JSON from Postgres)."""
        after = decode_time_cursor(cursor) if cursor is not None else None
        async with self._sessions() as session:
            rows = await OrderRepository(session).export_page(
                since=since, until=until, after=after, limit=limit + 1, user_id=user_id
            )
        page = rows[:limit]
        more = len(rows) > limit and bool(page)
        next_cursor = encode_time_cursor(page[-1].created_at, page[-1].id) if more else None
        return page_json([row.body for row in page], next_cursor)

    async def sales_summary(
        self, *, since: datetime, until: datetime, user_id: int | None, top_customers: int
    ) -> str:
        """The `SalesSummary` of `[since, until)` (of one user) as JSON, from Postgres."""
        async with self._sessions() as session:
            return await SalesRepository(session).summary(
                since=since, until=until, user_id=user_id, top_customers=top_customers
            )

    async def ordered_reservations(self, reservation_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        """For catalog's reservation sweeper: the ids an order was written with."""
        async with self._sessions() as session:
            return await OrderRepository(session).ordered_reservations(reservation_ids)


def page_json(orders: Sequence[str], next_cursor: str | None) -> bytes:
    """`{"items": [...], "next_cursor": ...}` around orders already in JSON."""
    return f'{{"items":[{",".join(orders)}],"next_cursor":{json.dumps(next_cursor)}}}'.encode()


def order_attributes(order: OrderOut, *, replayed: bool) -> dict[str, AttributeValue]:
    """The order on the request's span: which one, what it is worth, whether it was replayed."""
    return {
        "mercato.order.id": order.id,
        "mercato.order.replayed": replayed,
        "mercato.order.currency": order.currency,
        "mercato.order.total": float(order.total),
    }


def _priced(reservation: Reservation) -> list[PricedLine]:
    return [
        PricedLine(line.product_id, line.name, line.quantity, line.unit_price)
        for line in reservation.lines
    ]
