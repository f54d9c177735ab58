"""Serve an ASGI app over real HTTP on a free loopback port, in this process's event loop.

For a fake upstream that the code under test reaches by URL with its own HTTP session (a
service's lifespan builds one; `outbound_session` is one for a typed client under test), so
the calls cross a real socket as in production: a test points the service's URL setting
(`catalog_url`, `identity_url`, ...) at what `serve_on_loopback` or `serve_all` yields.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Final

import aiohttp
import uvicorn
from starlette.types import ASGIApp

from mercato_shared.http import create_http_session
from mercato_shared.settings import BaseServiceSettings

#: A guard against a server that never starts, not a measurement.
START_GUARD_SECONDS: Final = 30


@asynccontextmanager
async def serve_on_loopback(app: ASGIApp) -> AsyncIterator[str]:
    """Serve `app` until the block ends; yields its base URL (`http://127.0.0.1:<port>`)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(START_GUARD_SECONDS):
            while not server.started:
                if task.done():
                    task.result()  # raises what stopped the server
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@asynccontextmanager
async def serve_all(apps: Mapping[str, ASGIApp]) -> AsyncIterator[dict[str, str]]:
    """Serve each app of `apps` on a port of its own; yields each name's base URL."""
    async with AsyncExitStack() as stack:
        yield {
            name: await stack.enter_async_context(serve_on_loopback(app))
            for name, app in apps.items()
        }


@asynccontextmanager
async def outbound_session() -> AsyncIterator[aiohttp.ClientSession]:
    """A session built as a process builds its own (`create_http_session`, default settings),
    for a typed client or `InternalClient` under test; closed when the block ends."""
    session = create_http_session(BaseServiceSettings())
    try:
        yield session
    finally:
        await session.close()


def free_port() -> int:
    """A loopback port nobody listens on (it was free a moment ago): a server may take it;
    a client's connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
