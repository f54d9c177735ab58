"""A worker's runtime creates its HTTP session on its own loop and closes it with the runtime."""

from __future__ import annotations

from fastapi import FastAPI

from mercato_shared.http import send
from mercato_shared.testing.loopback import serve_on_loopback
from workers.config import WorkerSettings
from workers.runtime import Runtime


def callee() -> FastAPI:
    app = FastAPI()
    app.get("/ping")(lambda: {"pong": True})
    return app


def test_the_session_works_across_tasks_and_closes_with_the_runtime() -> None:
    runtime = Runtime(WorkerSettings())

    async def call() -> tuple[int, object, str]:
        async with serve_on_loopback(callee()) as url:
            reply = await send(runtime.http, "GET", f"{url}/ping")
        return reply.status_code, reply.json(), reply.headers["content-type"]

    try:
        first = runtime.run(call())
        second = runtime.run(call())  # the same session, on the same loop, in a later task
    finally:
        runtime.close()
    assert first == second == (200, {"pong": True}, "application/json")
    assert runtime.http.closed
