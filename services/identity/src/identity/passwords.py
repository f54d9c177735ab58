"""Argon2id password hashing, off the event loop and bounded.

Each hash costs tens of milliseconds of CPU and 64 MiB of memory (argon2-cffi's RFC 9106
low-memory profile), so it runs in a worker thread and at most `concurrency` run at once;
a burst of logins queues instead of exhausting memory.
"""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    def __init__(self, *, concurrency: int, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._slots = asyncio.Semaphore(concurrency)
        # Unknown users are checked against this, so they cost what a wrong password costs.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True when `password` matches; a missing hash runs a dummy check and is False."""
        async with self._slots:
            return await asyncio.to_thread(
                self._verify, password_hash or self._dummy_hash, password, password_hash is None
            )

    def _verify(self, password_hash: str, password: str, dummy: bool) -> bool:
        try:
            return self._hasher.verify(password_hash, password) and not dummy
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
