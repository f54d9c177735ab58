"""SQL for Idempotency-Key claims: every statement is one statement committed on its own
(autocommit), so a claim, a renewal, a rotation, a release and a cleanup batch each cost one
round trip. The claim itself is prebuilt once per process (`_claim_statement`)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, Final, NamedTuple

from sqlalchemy import Executable, bindparam, case, delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncEngine

from orders.models import IdempotencyKey

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
    `holder`); see `ClaimRepository.claim`."""
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


class ClaimRepository:
    """The claims' statements on `writes`, the autocommit view of the pool."""

    def __init__(self, writes: AsyncEngine, *, lease_seconds: float, retention: timedelta) -> None:
        self._db = writes
        self._lease = lease_seconds
        self._retention = retention
        self._claim = _claim_statement(lease_seconds, retention)

    async def _run(
        self, statement: Executable, values: dict[str, Any] | None = None
    ) -> Result[Any]:
        async with self._db.connect() as conn:
            return await conn.execute(statement, values)

    async def claim(
        self, user_id: int, key: str, request_hash: str, holder: uuid.UUID
    ) -> uuid.UUID | None:
        """Insert the claim, or take over one whose lease ran out or whose retention ended;
        the reservation id it holds, or None when the key is taken."""
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
        result = await self._run(
            select(
                IdempotencyKey.request_hash, IdempotencyKey.order_id, IdempotencyKey.status_code
            ).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        )
        row = result.one_or_none()
        return None if row is None else Stored(row.request_hash, row.order_id, row.status_code)

    async def renew(self, user_id: int, key: str, holder: uuid.UUID) -> bool:
        """Extend the holder's lease by a full lease; False when the claim is no longer its."""
        result = await self._run(
            update(IdempotencyKey)
            .where(*_mine(user_id, key, holder))
            .values(lease_until=func.now() + _seconds(self._lease))
            .returning(IdempotencyKey.key)
        )
        return result.scalar() is not None

    async def set_reservation(
        self, user_id: int, key: str, holder: uuid.UUID, reservation_id: uuid.UUID
    ) -> None:
        await self._run(
            update(IdempotencyKey)
            .where(*_mine(user_id, key, holder))
            .values(reservation_id=reservation_id)
        )

    async def end_lease(self, user_id: int, key: str, holder: uuid.UUID) -> None:
        """End the holder's lease now, its reservation id kept."""
        await self._run(
            update(IdempotencyKey)
            .where(*_mine(user_id, key, holder))
            .values(lease_until=func.now() - _seconds(1))
        )

    async def delete(self, user_id: int, key: str, holder: uuid.UUID) -> None:
        await self._run(delete(IdempotencyKey).where(*_mine(user_id, key, holder)))

    async def delete_expired(self) -> int:
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


def _mine(user_id: int, key: str, holder: uuid.UUID) -> tuple[Any, ...]:
    """The claim, while `holder` holds it and no order was written with it."""
    return (
        IdempotencyKey.user_id == user_id,
        IdempotencyKey.key == key,
        IdempotencyKey.holder == holder,
        IdempotencyKey.order_id.is_(None),
    )
