"""The process's one `aiohttp.ClientSession`, and `send`: one outbound call, read whole.

Every outbound call goes through aiohttp's own client API (decision in
docs/decisions/0027-outbound-http-on-aiohttp.md; CPU per call in bench/README.md,
"Outbound HTTP"). The session needs the running loop: the lifespan creates it
(`mercato_shared.resources`) and closes it at shutdown; a worker process creates it on its
runtime's loop (`workers.runtime`).

What the session promises every call:

* timeouts as the httpx client had them: `HTTP_CONNECT_TIMEOUT` for a connect,
  `HTTP_TIMEOUT` for a connection from the pool and for each read (the answer's head, then
  each part of its body), whatever tighter bound the caller sets around the whole call
  (`OutboundCaller`'s per-attempt timeout and deadline, `ServiceTokens`' own timeout);
* pooled keep-alive connections, at most `MAX_CONNECTIONS` at a time;
* no cookie jar (no call of ours is a browser session), no redirects followed, and no
  exception for an error status: the caller decides what a status means (`Reply`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import aiohttp

from mercato_shared.reply import Reply
from mercato_shared.settings import BaseServiceSettings

MAX_CONNECTIONS: Final = 100
# Seconds an idle pooled connection is kept (httpx's default, which the pool had before).
KEEPALIVE_SECONDS: Final = 5.0

Params = Mapping[str, str | int]


def create_http_session(settings: BaseServiceSettings) -> aiohttp.ClientSession:
    """The session every outbound call of the process goes through; call it on the running
    loop, and close it (`await session.close()`) when the process's resources are closed."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_SECONDS),
        timeout=aiohttp.ClientTimeout(
            total=None,
            connect=settings.http_timeout,  # a pooled connection, or a new one, within it
            sock_connect=settings.http_connect_timeout,
            sock_read=settings.http_timeout,
        ),
        headers={"user-agent": f"mercato-{settings.service_name}"},
        cookie_jar=aiohttp.DummyCookieJar(),
        raise_for_status=False,
    )


async def send(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    params: Params | None = None,
    json: Any = None,
    data: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """One request, its answer read whole (any status); aiohttp's errors as they are.

    Transport faults raise `aiohttp.ClientError`, timeouts `TimeoutError` (the session's
    timeout, or a tighter `asyncio.timeout` around the call).
    """
    async with session.request(
        method,
        url,
        params=params,
        json=json,
        data=data,
        headers=headers,
        allow_redirects=False,
    ) as response:
        content = await response.read()
        return Reply(response.status, content, response.headers, url)
