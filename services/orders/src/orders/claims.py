"""Idempotency-Key claims: short leases held by the request that works on the key.

A request with an `Idempotency-Key` first claims `(user, key)` (committed at once, so a
concurrent duplicate finds it): the claim records the body's hash, the catalog reservation
id the order will use, the request that holds it (`holder`) and until when (`lease_until`).

* While the request works, the lease is renewed every third of `IDEMPOTENCY_LEASE_SECONDS`
  (a fast order renews nothing).
* When the request fails, its error path frees the key at once: it deletes the claim when
  the reservation is known not to be held (never made, or released), and otherwise ends the
  lease but keeps the reservation id, so the retry reuses it and catalog (idempotent by id)
  takes the stock once.
* When it cannot (the database itself is down, the process died), the lease simply runs out:
  a retry with the same body takes the claim over, with the same reservation id, seconds
  later instead of minutes.
* A key older than `IDEMPOTENCY_KEY_RETENTION_HOURS` is as good as unused: a new request
  takes it afresh, and `cleanup` deletes such keys in batches.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, Final

from sqlalchemy import case, delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mercato_shared.background import in_background
from mercato_shared.telemetry import periodic_span
from orders.config import OrdersSettings
from orders.models import IdempotencyKey

logger = logging.getLogger("mercato.orders.claims")

CLEANUP_BATCH: Final = 1000


def _seconds(value: float) -> Any:
    return func.make_interval(0, 0, 0, 0, 0, 0, value)


class Claims:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], settings: OrdersSettings
    ) -> None:
        self._sessions = sessions
        self._lease = settings.idempotency_lease_seconds
        self._retention = timedelta(hours=settings.idempotency_key_retention_hours)

    async def claim(
        self, session: AsyncSession, user_id: int, key: str, request_hash: str, holder: uuid.UUID
    ) -> uuid.UUID | None:
        """Claim the key for `holder` (committed) and return its reservation id.

        None when the key is taken: done, held by a live request, or used with another body.
        A claim whose lease ran out is taken over by the same body, reservation id kept.
        """
        statement = insert(IdempotencyKey).values(
            user_id=user_id,
            key=key,
            request_hash=request_hash,
            reservation_id=uuid.uuid4(),
            holder=holder,
            lease_until=func.now() + _seconds(self._lease),
        )
        new = statement.excluded
        expired = IdempotencyKey.created_at < func.now() - self._retention

        def fresh(column: Any, value: Any) -> Any:
            return case((expired, value), else_=column)

        lapsed = (
            IdempotencyKey.order_id.is_(None)
            & (IdempotencyKey.request_hash == new.request_hash)
            & (IdempotencyKey.lease_until < func.now())
        )
        reservation_id = await session.scalar(
            statement.on_conflict_do_update(
                index_elements=["user_id", "key"],
                set_={
                    "holder": new.holder,
                    "lease_until": new.lease_until,
                    "request_hash": fresh(IdempotencyKey.request_hash, new.request_hash),
                    "reservation_id": fresh(IdempotencyKey.reservation_id, new.reservation_id),
                    "order_id": fresh(IdempotencyKey.order_id, None),
                    "status_code": fresh(IdempotencyKey.status_code, None),
                    "created_at": fresh(IdempotencyKey.created_at, func.now()),
                },
                where=lapsed | expired,
            ).returning(IdempotencyKey.reservation_id)
        )
        await session.commit()
        return reservation_id

    async def get(self, session: AsyncSession, user_id: int, key: str) -> IdempotencyKey | None:
        return await session.get(IdempotencyKey, (user_id, key), populate_existing=True)

    @asynccontextmanager
    async def held(self, user_id: int, key: str, holder: uuid.UUID) -> AsyncIterator[None]:
        """Renew the lease in the background while the block runs."""

        async def renew() -> None:
            while True:
                await asyncio.sleep(self._lease / 3)
                try:
                    if not await self._renew(user_id, key, holder):
                        logger.warning("idempotency claim lost", extra={"key": key})
                        return
                except Exception as exc:  # a missed renewal is not fatal; the lease has slack
                    logger.warning("claim renewal failed", extra={"error": repr(exc)})

        async with in_background(renew(), name=f"claim-lease:{user_id}:{key}"):
            yield

    async def _renew(self, user_id: int, key: str, holder: uuid.UUID) -> bool:
        async with self._sessions() as session:
            renewed = await session.scalar(
                update(IdempotencyKey)
                .where(*self._mine(user_id, key, holder))
                .values(lease_until=func.now() + _seconds(self._lease))
                .returning(IdempotencyKey.key)
            )
            await session.commit()
        return renewed is not None

    async def rotate(self, user_id: int, key: str, holder: uuid.UUID) -> uuid.UUID:
        """Give the claim a new reservation id (its old one was released); returns it."""
        reservation_id = uuid.uuid4()
        async with self._sessions() as session:
            await session.execute(
                update(IdempotencyKey)
                .where(*self._mine(user_id, key, holder))
                .values(reservation_id=reservation_id)
            )
            await session.commit()
        return reservation_id

    async def release(
        self, user_id: int, key: str, holder: uuid.UUID, *, reservation_held: bool
    ) -> None:
        """Free the key after a failed request: retryable at once with the same body.

        Runs in a session of its own (the request's may sit on a dead connection); when
        even that fails, the lease runs out by itself.
        """
        mine = self._mine(user_id, key, holder)
        try:
            async with self._sessions() as session:
                if reservation_held:  # maybe held: keep its id so the retry takes it once
                    await session.execute(
                        update(IdempotencyKey)
                        .where(*mine)
                        .values(lease_until=func.now() - _seconds(1))
                    )
                else:
                    await session.execute(delete(IdempotencyKey).where(*mine))
                await session.commit()
        except Exception as exc:
            logger.warning(
                "could not free an idempotency claim; its lease will run out",
                extra={"key": key, "error": repr(exc)},
            )

    async def cleanup(self) -> int:
        """Delete up to `CLEANUP_BATCH` keys past their retention; returns how many."""
        old = (
            select(IdempotencyKey.user_id, IdempotencyKey.key)
            .where(IdempotencyKey.created_at < func.now() - self._retention)
            .limit(CLEANUP_BATCH)
            .with_for_update(skip_locked=True)
        )
        async with self._sessions() as session:
            result = await session.execute(
                delete(IdempotencyKey)
                .where(tuple_(IdempotencyKey.user_id, IdempotencyKey.key).in_(old))
                .returning(IdempotencyKey.key)
            )
            deleted = len(result.all())
            await session.commit()
        return deleted

    @staticmethod
    def _mine(user_id: int, key: str, holder: uuid.UUID) -> tuple[Any, ...]:
        return (
            IdempotencyKey.user_id == user_id,
            IdempotencyKey.key == key,
            IdempotencyKey.holder == holder,
            IdempotencyKey.order_id.is_(None),
        )


async def run_cleanup(claims: Claims, interval: float) -> None:
    """The cleanup loop of an orders process (its lifespan starts and cancels it)."""
    while True:
        await asyncio.sleep(interval)
        try:
            with periodic_span("idempotency-cleanup"):
                deleted = await claims.cleanup()  # a full batch leaves the rest to the next round
        except Exception as exc:  # the next round tries again
            logger.warning("idempotency key cleanup failed", extra={"error": repr(exc)})
            continue
        if deleted:
            logger.info("expired idempotency keys deleted", extra={"count": deleted})
