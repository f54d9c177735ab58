"""Argon2id password hashing, off the event loop, bounded and fair between clients.

Each hash is deliberately costly: CPU, and 64 MiB of memory (argon2-cffi's RFC 9106
low-memory profile), so it runs in a worker thread and at most `concurrency` run at once;
the waiting requests are served round-robin by client (`identity.fair_slots`), so a burst
of logins from one client queues behind itself, not in front of everyone else, and a client
with `max_waiting` checks queued already is refused at once (429).
"""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from identity.errors import PasswordQueueFullError
from identity.fair_slots import FairSlots, SlotsBusyError


class Passwords:
    def __init__(
        self, *, concurrency: int, max_waiting: int = 4, hasher: PasswordHasher | None = None
    ) -> None:
        self._hasher = hasher or PasswordHasher()
        self._slots = FairSlots(concurrency=concurrency, max_waiting=max_waiting)
        # Unknown users are checked against this, so they cost what a wrong password costs.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str, *, client: str) -> str:
        try:
            async with self._slots.slot(client):
                return await asyncio.to_thread(self._hasher.hash, password)
        except SlotsBusyError as exc:
            raise PasswordQueueFullError from exc

    async def verify(self, password_hash: str | None, password: str, *, client: str) -> bool:
        """True when `password` matches; a missing hash runs a dummy check and is False."""
        try:
            async with self._slots.slot(client):
                return await asyncio.to_thread(
                    self._verify, password_hash or self._dummy_hash, password, password_hash is None
                )
        except SlotsBusyError as exc:
            raise PasswordQueueFullError from exc

    def _verify(self, password_hash: str, password: str, dummy: bool) -> bool:
        try:
            return self._hasher.verify(password_hash, password) and not dummy
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
