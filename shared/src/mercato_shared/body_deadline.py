"""A deadline for the whole request body: a client that dribbles its body gets a JSON 408.

The gateway streams request bodies to the services as they arrive
(`proxy_request_buffering off`), because stock nginx bounds only the pause between two
reads of a body (`client_body_timeout`), never the whole body: a client sending one byte
every few seconds would hold a connection for as long as it likes. This middleware reads
the body, at most `timeout` seconds from the moment the request head was received, before
the application sees the request; a body not complete by then is answered with a 408
`request_timeout` in the error shape, with `Connection: close` (the rest of the body is
never read). The application then reads the buffered body as usual: FastAPI reads every
body whole before a handler runs anyway, so buffering here holds no more memory than it does.

Requests without a body (no Content-Length, or 0, and no Transfer-Encoding) pass untouched.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mercato_shared.errors import error_response

__all__ = ["BodyDeadlineMiddleware"]


def _has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value.strip() not in {b"", b"0"}
        if name == b"transfer-encoding":
            return True
    return False


class BodyDeadlineMiddleware:
    """Receive the whole request body within `timeout` seconds, or answer 408."""

    def __init__(self, app: ASGIApp, *, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        received: list[Message] = []
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    message = await receive()
                    received.append(message)
                    if message["type"] != "http.request" or not message.get("more_body"):
                        break
        except TimeoutError:
            response = error_response(
                408,
                "request_timeout",
                f"The request body was not received within {self.timeout:g} s.",
                headers={"Connection": "close"},
            )
            await response(scope, receive, send)
            return

        async def replay() -> Message:
            if received:
                return received.pop(0)
            return await receive()

        await self.app(scope, replay, send)
