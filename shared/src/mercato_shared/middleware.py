"""Pure ASGI middleware: request id in and out, and the last line of defence for errors."""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mercato_shared.context import (
    REQUEST_ID_HEADER,
    accept_or_new_request_id,
    request_id_var,
)
from mercato_shared.errors import error_response

logger = logging.getLogger("mercato.errors")


class RequestContextMiddleware:
    """Accept or mint `X-Request-ID`, expose it to logs and return it.

    The trace id headers (`X-Trace-Id`, `traceresponse`) come from the server telemetry
    middleware that wraps this one when telemetry is on (there is no trace id otherwise).

    It is also the last line of defence: an unhandled exception becomes a logged 500 in the
    error shape (with both ids), never a stack trace.

    Written as plain ASGI (not `BaseHTTPMiddleware`) so it adds no task or stream per request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = accept_or_new_request_id(incoming)
        token = request_id_var.set(request_id)

        started = False

        # A plain function returning `send`'s awaitable: no coroutine of its own per message.
        def send_with_ids(message: Message) -> Awaitable[None]:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
            return send(message)

        try:
            await self.app(scope, receive, send_with_ids)
        except Exception as exc:
            span = trace.get_current_span()
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            logger.exception("unhandled error", extra={"path": scope.get("path")})
            if started:
                raise
            response = error_response(500, "internal_error", "An internal error occurred.")
            await response(scope, receive, send_with_ids)
        finally:
            request_id_var.reset(token)
