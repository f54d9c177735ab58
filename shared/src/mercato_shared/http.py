"""The one shared `httpx.AsyncClient` of a process, with default deadlines."""

from __future__ import annotations

import httpx

from mercato_shared.settings import BaseServiceSettings


def create_http_client(settings: BaseServiceSettings) -> httpx.AsyncClient:
    """Every outbound call gets a timeout; pooled connections are reused across requests."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.http_timeout, connect=settings.http_connect_timeout),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        headers={"user-agent": f"mercato-{settings.service_name}"},
    )
