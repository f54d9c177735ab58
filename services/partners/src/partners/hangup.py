"""Noticing that the caller hung up while a partner holds its request.

uvicorn does not cancel a handler whose client disconnected: it only answers the
handler's next `receive()` with `http.disconnect`. A simulated partner holds requests on
purpose (latency, hangs, the rendezvous), so it watches for that message and cancels the
held work, and the call record says the caller left (`abandoned`) rather than that the
partner answered into a closed socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from starlette.types import Receive

from mercato_shared.errors import AppError

T = TypeVar("T")


class CallerGoneError(AppError):
    """Nobody reads this answer (the caller is gone); the status is nginx's 499."""

    status_code = 499
    code = "client_closed_request"


async def _disconnected(receive: Receive) -> None:
    # The request's own messages (a GET's empty body) come first; the next one waits.
    while (await receive())["type"] != "http.disconnect":
        pass


async def unless_caller_leaves(receive: Receive, work: Coroutine[Any, Any, T]) -> T:
    """Await `work`; if the caller disconnects first, cancel it and raise `CallerGoneError`."""
    job = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(_disconnected(receive))
    try:
        await asyncio.wait((job, watch), return_when=asyncio.FIRST_COMPLETED)
    finally:
        watch.cancel()
        if not job.done():
            job.cancel()
            await asyncio.wait((job,))
    if job.cancelled():
        raise CallerGoneError("The caller hung up before the answer.")
    return job.result()
