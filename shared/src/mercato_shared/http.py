"""The one shared `httpx.AsyncClient` of a process, with default deadlines.

It sends through aiohttp (`httpx_aiohttp.AiohttpTransport`, httpx's public transport API):
the same client API, requests, responses and exceptions, for about half the CPU per call
of httpx's own transport (`python -m bench.http_clients`; figures in bench/README.md,
decision in docs/decisions/0023-outbound-http-transport.md).
"""

from __future__ import annotations

import httpx
from httpx_aiohttp import AiohttpTransport

from mercato_shared.settings import BaseServiceSettings

LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


def create_http_client(settings: BaseServiceSettings) -> httpx.AsyncClient:
    """Every outbound call gets a timeout; pooled connections are reused across requests."""
    return httpx.AsyncClient(
        transport=AiohttpTransport(limits=LIMITS),
        timeout=httpx.Timeout(settings.http_timeout, connect=settings.http_connect_timeout),
        limits=LIMITS,
        headers={"user-agent": f"mercato-{settings.service_name}"},
    )
