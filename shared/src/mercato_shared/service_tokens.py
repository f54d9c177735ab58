"""A machine client's access token: OAuth2 client credentials against identity, cached.

Services and workers that call other services on their own behalf (orders → catalog, the
report worker → orders) hold one `ServiceTokens` per process. The token is fetched once and
reused until shortly before it expires; concurrent callers share one fetch. A 401 from the
called service means the token went stale early (a rotated key, clock drift): `forget()`
makes the next `get()` fetch a new one.
"""

from __future__ import annotations

import asyncio
import time
from typing import Final

import aiohttp
from pydantic import BaseModel, PositiveInt, ValidationError

from mercato_shared.errors import DependencyUnavailableError

REFRESH_MARGIN_SECONDS: Final = 60.0


class TokenUnavailableError(DependencyUnavailableError):
    """Identity did not issue the token (503 for the request that needed it).

    `transient` says whether another try may help: identity down or overloaded, yes;
    credentials refused or an unreadable answer, no.
    """

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class _TokenResponse(BaseModel):
    access_token: str
    expires_in: PositiveInt


class ServiceTokens:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        identity_url: str,
        client_id: str,
        client_secret: str,
        timeout: float,
    ) -> None:
        self._http = http
        self._url = f"{identity_url}/token"
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        if self._token is not None and time.monotonic() < self._expires_at:
            return self._token
        async with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                self._token, lifetime = await self._fetch()
                margin = min(REFRESH_MARGIN_SECONDS, lifetime / 2)
                self._expires_at = time.monotonic() + lifetime - margin
            return self._token

    def forget(self) -> None:
        self._token = None

    async def _fetch(self) -> tuple[str, float]:
        try:
            async with self._http.post(
                self._url, data=self._form, timeout=self._timeout, allow_redirects=False
            ) as response:
                status, content = response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            msg = "The identity service is unavailable."
            raise TokenUnavailableError(msg, transient=True) from exc
        if status >= 500 or status == 429:
            msg = f"The identity service answered {status}."
            raise TokenUnavailableError(msg, transient=True)
        if status != 200:
            msg = "The identity service refused this service's credentials."
            raise TokenUnavailableError(msg, transient=False)
        try:
            body = _TokenResponse.model_validate_json(content)
        except ValidationError as exc:
            msg = "The identity service answered without a usable token."
            raise TokenUnavailableError(msg, transient=False) from exc
        return body.access_token, float(body.expires_in)
