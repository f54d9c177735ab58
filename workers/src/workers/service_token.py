"""The workers' own access token: OAuth2 client credentials against identity, cached.

The token is fetched once and reused until shortly before it expires, so a report costs no
extra call to identity. A 401 from a service means the cached token went stale early
(identity's key rotated, the clock drifted): `invalidate` forces the next call to refetch.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import stamina
from pydantic import BaseModel

from workers.config import WorkerSettings
from workers.errors import TransientError, is_transient

REFRESH_MARGIN_SECONDS = 60.0


class _TokenResponse(BaseModel):
    access_token: str
    expires_in: int


class ServiceTokens:
    def __init__(self, http: httpx.AsyncClient, settings: WorkerSettings) -> None:
        self._http = http
        self._settings = settings
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        async with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                self._token, lifetime = await self._fetch()
                margin = min(REFRESH_MARGIN_SECONDS, lifetime / 2)
                self._expires_at = time.monotonic() + lifetime - margin
            return self._token

    def invalidate(self) -> None:
        self._token = None

    @stamina.retry(on=is_transient, attempts=3, wait_initial=0.2, wait_max=2.0)
    async def _fetch(self) -> tuple[str, float]:
        response = await self._http.post(
            f"{self._settings.identity_url}/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self._settings.reports_client_id,
                "client_secret": self._settings.reports_client_secret,
            },
        )
        if response.status_code >= 500:
            raise TransientError(f"identity answered {response.status_code}")
        response.raise_for_status()
        body = _TokenResponse.model_validate_json(response.content)
        return body.access_token, float(body.expires_in)
