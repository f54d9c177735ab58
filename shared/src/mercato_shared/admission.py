"""Admission control in the process: a concurrency limit with a short queue, for edge requests.

Past what a process can serve, every request it accepts only waits: for the event loop, for
the CPU, for the requests ahead of it. The gateway's per-process cap (`max_in_flight`, nginx's
`max_conns`) bounds how many requests a process holds, but not how long they wait once the
machine itself is saturated. So each process also admits at most `ADMISSION_LIMIT` edge
requests at once; a request that finds them all busy waits for a slot in a queue, at most
`ADMISSION_QUEUE_MS`, and is then answered at once with 503 `overloaded` and `Retry-After`,
in the error shape, before any of its work is done. An admitted request therefore waits at
most the queue's bound, and the excess costs little more than its refusal. It is the fixed
limit with a bounded wait of concurrency limiters such as Netflix's concurrency-limits
(`BlockingLimiter` with a timeout); a limit that adapts to latency is the next step.

Only requests that came through the gateway are counted (it sets `X-Real-IP` on every
request it proxies; nobody else does). A call from another service is part of work already
admitted (an order's reservation, a quote's product): refusing it would waste what was done,
so internal calls and the orchestrator's probes (`/healthz`, `/readyz`, straight to the
process) are never queued. With a limit of 0 nothing is limited.
"""

from __future__ import annotations

import asyncio
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from mercato_shared.errors import error_response

__all__ = ["Admission", "AdmissionMiddleware"]

RETRY_AFTER_SECONDS: Final = 1
_FROM_THE_GATEWAY: Final = b"x-real-ip"


class Admission:
    """`limit` requests at once; the next ones wait at most `queue_seconds` for a slot."""

    def __init__(self, limit: int, queue_seconds: float) -> None:
        self.limit = limit
        self.queue_seconds = queue_seconds
        self._slots = asyncio.Semaphore(limit)
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Requests in the queue now."""
        return self._waiting

    async def enter(self) -> bool:
        """Take a slot (True), or give up once the queue's bound has passed (False)."""
        if not self._slots.locked():
            await self._slots.acquire()  # a free slot: taken without suspending
            return True
        self._waiting += 1
        try:
            async with asyncio.timeout(self.queue_seconds):
                await self._slots.acquire()
        except TimeoutError:
            return False
        finally:
            self._waiting -= 1
        return True

    def leave(self) -> None:
        self._slots.release()


def _from_the_gateway(scope: Scope) -> bool:
    return any(name == _FROM_THE_GATEWAY for name, _ in scope["headers"])


class AdmissionMiddleware:
    """Pure ASGI: edge requests pass through `admission`, or get a fast 503 `overloaded`."""

    def __init__(self, app: ASGIApp, admission: Admission) -> None:
        self.app = app
        self.admission = admission

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _from_the_gateway(scope):
            await self.app(scope, receive, send)
            return
        if not await self.admission.enter():
            response = error_response(
                503,
                "overloaded",
                "The service is at capacity; retry the request later.",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
            await response(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.admission.leave()
