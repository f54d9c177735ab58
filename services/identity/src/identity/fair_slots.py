"""A bounded pool of slots, handed out round-robin by key: one key cannot starve the others.

Password hashing is the costly step of a login (deliberately: CPU, and 64 MiB of memory
per argon2 run), so at most `concurrency` run at once. A single FIFO queue lets one client that
sends hundreds of logins delay every other client's login by its whole backlog; here each
key (a client address) has its own queue, and a freed slot goes to the next key in turn, so
another client waits for at most one turn of each key that is waiting. Each key may have at
most `max_waiting` requests queued; one more is refused at once (`SlotsBusyError`).

    slots = FairSlots(concurrency=2, max_waiting=4)
    async with slots.slot("203.0.113.7"):
        ...
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class SlotsBusyError(Exception):
    """This key already has as many requests waiting as it may."""


class FairSlots:
    def __init__(self, *, concurrency: int, max_waiting: int) -> None:
        if concurrency < 1 or max_waiting < 0:
            msg = "concurrency must be positive and max_waiting not negative"
            raise ValueError(msg)
        self._free = concurrency
        self._max_waiting = max_waiting
        # Waiters of each key, in arrival order; keys in the order they are served next.
        self._waiting: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()

    def waiting(self, key: str) -> int:
        return len(self._waiting.get(key, ()))

    @asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        await self._acquire(key)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, key: str) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        queue = self._waiting.setdefault(key, deque())
        if len(queue) >= self._max_waiting:
            if not queue:
                del self._waiting[key]
            raise SlotsBusyError
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(granted)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._release()  # granted just as it was cancelled: pass the slot on
            else:
                self._forget(key, granted)
            raise

    def _release(self) -> None:
        while self._waiting:
            key, queue = next(iter(self._waiting.items()))
            granted = queue.popleft()
            if queue:
                self._waiting.move_to_end(key)  # its next request waits for the others' turn
            else:
                del self._waiting[key]
            if not granted.done():
                granted.set_result(None)
                return
        self._free += 1

    def _forget(self, key: str, granted: asyncio.Future[None]) -> None:
        queue = self._waiting.get(key)
        if queue is not None and granted in queue:
            queue.remove(granted)
            if not queue:
                del self._waiting[key]
