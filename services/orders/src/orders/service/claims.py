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

The statements are in `orders.repository.claims`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from mercato_shared.background import in_background
from mercato_shared.db import autocommit
from mercato_shared.telemetry import periodic_span
from orders.config import OrdersSettings
from orders.repository.claims import ClaimRepository, Stored

logger = logging.getLogger("mercato.orders.claims")


class Claims:
    """The claims of one orders process (built once, in its lifespan); each operation is
    one statement of `ClaimRepository`."""

    def __init__(self, engine: AsyncEngine, settings: OrdersSettings) -> None:
        self._lease = settings.idempotency_lease_seconds
        self._repository = ClaimRepository(
            autocommit(engine),
            lease_seconds=self._lease,
            retention=timedelta(hours=settings.idempotency_key_retention_hours),
        )

    async def claim(
        self, user_id: int, key: str, request_hash: str, holder: uuid.UUID
    ) -> uuid.UUID | None:
        """Claim the key for `holder` (committed) and return its reservation id.

        None when the key is taken: done, held by a live request, or used with another body.
        A claim whose lease ran out is taken over by the same body, reservation id kept.
        """
        return await self._repository.claim(user_id, key, request_hash, holder)

    async def get(self, user_id: int, key: str) -> Stored | None:
        """The key's row as it is now: its body's hash and, once written, its order."""
        return await self._repository.get(user_id, key)

    @asynccontextmanager
    async def held(self, user_id: int, key: str, holder: uuid.UUID) -> AsyncIterator[None]:
        """Renew the lease in the background while the block runs."""

        async def renew() -> None:
            while True:
                await asyncio.sleep(self._lease / 3)
                try:
                    if not await self._repository.renew(user_id, key, holder):
                        logger.warning("idempotency claim lost", extra={"key": key})
                        return
                except Exception as exc:  # a missed renewal is not fatal; the lease has slack
                    logger.warning("claim renewal failed", extra={"error": repr(exc)})

        async with in_background(renew(), name=f"claim-lease:{user_id}:{key}"):
            yield

    async def rotate(self, user_id: int, key: str, holder: uuid.UUID) -> uuid.UUID:
        """Give the claim a new reservation id (its old one was released); returns it."""
        reservation_id = uuid.uuid4()
        await self._repository.set_reservation(user_id, key, holder, reservation_id)
        return reservation_id

    async def release(
        self, user_id: int, key: str, holder: uuid.UUID, *, reservation_held: bool
    ) -> None:
        """Free the key after a failed request: retryable at once with the same body.

        When even that fails (the database is down), the lease runs out by itself.
        """
        try:
            if reservation_held:  # maybe held: keep its id so the retry takes it once
                await self._repository.end_lease(user_id, key, holder)
            else:
                await self._repository.delete(user_id, key, holder)
        except Exception as exc:
            logger.warning(
                "could not free an idempotency claim; its lease will run out",
                extra={"key": key, "error": repr(exc)},
            )

    async def cleanup(self) -> int:
        """Delete a batch of keys past their retention; returns how many."""
        return await self._repository.delete_expired()


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
