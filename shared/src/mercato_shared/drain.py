"""Drain on SIGTERM: the gateway stops sending a replica requests before its server stops.

uvicorn's graceful shutdown, on SIGTERM, closes its listening socket, closes every idle
keep-alive connection at once, and lets the requests in flight finish. Behind a gateway that
keeps a pool of idle connections to each process (nginx's `keepalive`), closing an idle
connection races with the gateway reusing it: a request written just as the server closes
that connection is answered with a TCP reset. nginx retries such a request on another
replica only when the method is idempotent; a POST, PATCH or LOCK already sent is never
retried and becomes a 502 for the client (how often, on the native stack:
docs/native-stack.md).

The cure is the order of events every load balancer needs: first out of rotation, then
closed. With `SHUTDOWN_DRAIN_SECONDS` > 0 a SIGTERM starts a drain of that many seconds
before the server's own graceful shutdown:

* a request nginx may retry (every method but POST, PATCH and LOCK) is answered at once with
  502 `shutting_down` and `Connection: close`, before the app sees it. 502 is what nginx
  itself reports for a server it could not use, and the one status the gateway retries
  (`proxy_next_upstream error timeout http_502`; no service answers 502 on its own, while
  a 503 `dependency_unavailable` is passed on untouched): nginx sends the request to
  another replica and counts a failure, which takes this process out of the upstream for
  `fail_timeout` after `max_fails`. `/readyz` is one of these requests, so an
  orchestrator's readiness probe sees the drain too;
* any other request is served as usual, with `Connection: close`, so the connection it came
  on is closed by the server only after a complete response, which is always safe;
* then the server's handler for SIGTERM runs (the one the server installed, called as any
  chained signal handler is): uvicorn closes what is left, idle connections nobody will
  reuse because the gateway no longer picks this process.

A second SIGTERM skips the rest of the drain. With 0 (the default) nothing changes: a
single process has no other replica to take its requests, so a drain would only turn them
into errors.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from types import FrameType

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mercato_shared.errors import error_response

logger = logging.getLogger("mercato.drain")

#: Methods nginx never sends to another upstream server once it has sent the request.
NOT_RETRIED_BY_THE_GATEWAY = frozenset({"POST", "PATCH", "LOCK"})


class Drain:
    """Whether this process is draining, and the SIGTERM handler that starts the drain."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._draining = False

    @property
    def draining(self) -> bool:
        return self._draining

    @contextmanager
    def on_sigterm(self, loop: asyncio.AbstractEventLoop) -> Iterator[None]:
        """While open, a SIGTERM drains for `seconds`, then calls the handler it replaced.

        A no-op when `seconds` is 0 or outside the main thread (signals go to it only).
        """
        if self.seconds <= 0 or threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.getsignal(signal.SIGTERM)
        timer: asyncio.TimerHandle | None = None

        def hand_over(signum: int, frame: FrameType | None) -> None:
            if timer is not None:
                timer.cancel()
            signal.signal(signal.SIGTERM, previous)
            if callable(previous):
                previous(signum, frame)
            elif previous != signal.SIG_IGN:
                signal.raise_signal(signum)

        def start_timer(signum: int, frame: FrameType | None) -> None:
            nonlocal timer
            timer = loop.call_later(self.seconds, hand_over, signum, frame)

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            if self._draining:  # asked twice: stop draining now
                hand_over(signum, frame)
                return
            self._draining = True
            logger.info("SIGTERM: draining for %.1f s before shutting down", self.seconds)
            # Not from the signal handler itself: it may run in the middle of the loop's work.
            loop.call_soon_threadsafe(start_timer, signum, frame)

        signal.signal(signal.SIGTERM, on_sigterm)
        try:
            yield
        finally:
            if timer is not None:
                timer.cancel()
            if signal.getsignal(signal.SIGTERM) is on_sigterm:
                signal.signal(signal.SIGTERM, previous)


class DrainMiddleware:
    """Pure ASGI: while the process drains, turn requests away or close their connection."""

    def __init__(self, app: ASGIApp, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.drain.draining:
            await self.app(scope, receive, send)
            return
        if scope["method"] not in NOT_RETRIED_BY_THE_GATEWAY:
            response = error_response(
                502,
                "shutting_down",
                "This process is shutting down; retry the request.",
                headers={"Retry-After": "1", "Connection": "close"},
            )
            await response(scope, receive, send)
            return

        def send_closing(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["Connection"] = "close"
            return send(message)

        await self.app(scope, receive, send_closing)
