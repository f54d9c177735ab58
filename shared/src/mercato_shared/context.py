"""Per-request context (the request id) shared by middleware, logging and error handlers."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from opentelemetry import trace

REQUEST_ID_HEADER = "x-request-id"
TRACE_ID_HEADER = "x-trace-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def accept_or_new_request_id(candidate: str | None) -> str:
    """Keep a caller's request id when it is well formed, otherwise mint one."""
    if candidate and _VALID_REQUEST_ID.match(candidate):
        return candidate
    return uuid.uuid4().hex


def current_trace_id() -> str | None:
    """The active span's trace id as 32 hex digits, or None when nothing is traced."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


def sampled_trace_id() -> str | None:
    """The active trace id when the trace is sampled (exported), else None: worth storing."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid and ctx.trace_flags.sampled else None


def current_span_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.span_id, "016x") if ctx.is_valid else None
