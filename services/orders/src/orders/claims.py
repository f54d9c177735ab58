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
from typing import Any, Final, NamedTuple

from sqlalchemy import Executable, bindparam, case, delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncEngine

from mercato_shared.background import in_background
from mercato_shared.db import autocommit
from mercato_shared.telemetry import periodic_span
from orders.config import OrdersSettings
from orders.models import IdempotencyKey

logger = logging.getLogger("mercato.orders.claims")

CLEANUP_BATCH: Final = 1000


class Stored(NamedTuple):
    """What a key holds: the hash of the body it was first used with and, once the order is
    written, the order and the status it was answered with."""

    request_hash: str
    order_id: int | None
    status_code: int | None


def _seconds(value: float) -> Any:
    return func.make_interval(0, 0, 0, 0, 0, 0, value)


def _claim_statement(lease: float, retention: timedelta) -> Executable:
    """`INSERT ... ON CONFLICT DO UPDATE ... RETURNING reservation_id`, built once per process
    (its values are bound per call: `user_id`, `key`, `request_hash`, `reservation_id`,
    `holder`); see `Claims.claim`."""
    statement = insert(IdempotencyKey).values(
        user_id=bindparam("user_id"),
        key=bindparam("key"),
        request_hash=bindparam("request_hash"),
        reservation_id=bindparam("reservation_id"),
        holder=bindparam("holder"),
        lease_until=func.now() + _seconds(lease),
    )
    new = statement.excluded
    expired = IdempotencyKey.created_at < func.now() - retention

    def fresh(column: Any, value: Any) -> Any:
        return case((expired, value), else_=column)

    lapsed = (
        IdempotencyKey.order_id.is_(None)
        & (IdempotencyKey.request_hash == new.request_hash)
        & (IdempotencyKey.lease_until < func.now())
    )
    return statement.on_conflict_do_update(
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


class Claims:
    """Every statement on a claim is one statement committed on its own (autocommit): a
    claim, a renewal, a rotation, a release and a cleanup batch each cost one round trip."""

    def __init__(self, engine: AsyncEngine, settings: OrdersSettings) -> None:
        self._db = autocommit(engine)
        self._lease = settings.idempotency_lease_seconds
        self._retention = timedelta(hours=settings.idempotency_key_retention_hours)

        self._claim = _claim_statement(self._lease, self._retention)

    async def _run(
        self, statement: Executable, values: dict[str, Any] | None = None
    ) -> Result[Any]:
        async with self._db.connect() as conn:
            return await conn.execute(statement, values)

    async def claim(
        self, user_id: int, key: str, request_hash: str, holder: uuid.UUID
    ) -> uuid.UUID | None:
        """Claim the key for `holder` (committed) and return its reservation id.

        None when the key is taken: done, held by a live request, or used with another body.
        A claim whose lease ran out is taken over by the same body, reservation id kept.
        """
        result = await self._run(
            self._claim,
            {
                "user_id": user_id,
                "key": key,
                "request_hash": request_hash,
                "reservation_id": uuid.uuid4(),
                "holder": holder,
            },
        )
        reservation_id: uuid.UUID | None = result.scalar()
        return reservation_id

    async def get(self, user_id: int, key: str) -> Stored | None:
        """The key's row as it is now: its body's hash and, once written, its order."""
        result = await self._run(
            select(
                IdempotencyKey.request_hash, IdempotencyKey.order_id, IdempotencyKey.status_code
            ).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        )
        row = result.one_or_none()
        return None if row is None else Stored(row.request_hash, row.order_id, row.status_code)

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
        result = await self._run(
            update(IdempotencyKey)
            .where(*self._mine(user_id, key, holder))
            .values(lease_until=func.now() + _seconds(self._lease))
            .returning(IdempotencyKey.key)
        )
        return result.scalar() is not None

    async def rotate(self, user_id: int, key: str, holder: uuid.UUID) -> uuid.UUID:
        """Give the claim a new reservation id (its old one was released); returns it."""
        reservation_id = uuid.uuid4()
        await self._run(
            update(IdempotencyKey)
            .where(*self._mine(user_id, key, holder))
            .values(reservation_id=reservation_id)
        )
        return reservation_id

    async def release(
        self, user_id: int, key: str, holder: uuid.UUID, *, reservation_held: bool
    ) -> None:
        """Free the key after a failed request: retryable at once with the same body.

        When even that fails (the database is down), the lease runs out by itself.
        """
        mine = self._mine(user_id, key, holder)
        try:
            if reservation_held:  # maybe held: keep its id so the retry takes it once
                await self._run(
                    update(IdempotencyKey).where(*mine).values(lease_until=func.now() - _seconds(1))
                )
            else:
                await self._run(delete(IdempotencyKey).where(*mine))
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
        result = await self._run(
            delete(IdempotencyKey)
            .where(tuple_(IdempotencyKey.user_id, IdempotencyKey.key).in_(old))
            .returning(IdempotencyKey.key)
        )
        return len(result.all())

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
