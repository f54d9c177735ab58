"""A coroutine that runs beside a block of code and is cancelled when the block ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager, suppress
from typing import Any


@asynccontextmanager
async def in_background(
    coroutine: Coroutine[Any, Any, None], *, name: str
) -> AsyncIterator[asyncio.Task[None]]:
    """Run `coroutine` as a task while the block runs; cancel it (and wait) at its end.

    For loops that renew a lease or clean up on a timer: resources of a request or of a
    lifespan, never module globals.
    """
    task = asyncio.create_task(coroutine, name=name)
    try:
        yield task
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
