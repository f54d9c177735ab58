"""BodyDeadlineMiddleware: a whole body within the deadline is replayed, a late one is a 408."""

from __future__ import annotations

import asyncio
import json

from starlette.types import Message, Receive, Scope, Send

from mercato_shared.body_deadline import BodyDeadlineMiddleware


def _scope(headers: list[tuple[bytes, bytes]]) -> Scope:
    return {"type": "http", "method": "POST", "path": "/x", "headers": headers}


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def _call(scope: Scope, messages: list[Message], *, stall: bool = False) -> list[Message]:
    sent: list[Message] = []
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if stall:
            await asyncio.Event().wait()  # a client that stopped sending
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await BodyDeadlineMiddleware(_echo, timeout=0.05)(scope, receive, send)
    return sent


async def test_a_complete_body_reaches_the_app_whole() -> None:
    chunks: list[Message] = [
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"cd", "more_body": False},
    ]

    sent = await _call(_scope([(b"content-length", b"4")]), chunks)

    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b"abcd"


async def test_a_body_not_complete_by_the_deadline_gets_a_json_408() -> None:
    chunks: list[Message] = [{"type": "http.request", "body": b"a", "more_body": True}]

    sent = await _call(_scope([(b"content-length", b"100")]), chunks, stall=True)

    assert sent[0]["status"] == 408
    assert (b"connection", b"close") in sent[0]["headers"]
    document = json.loads(sent[1]["body"])
    assert document["error"]["code"] == "request_timeout"
    assert set(document["error"]) == {"code", "message", "request_id", "trace_id"}


async def test_a_request_without_a_body_is_not_waited_for() -> None:
    # No Content-Length: the app runs at once, even though receive() would stall.
    sent = await _call(_scope([]), [{"type": "http.request", "body": b"", "more_body": False}])

    assert sent[0]["status"] == 200
