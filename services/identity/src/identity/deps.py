"""Identity's dependency aliases."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from identity.config import IdentitySettings
from identity.service import IdentityService
from mercato_shared.deps import ResourcesDep


async def get_settings(resources: ResourcesDep) -> IdentitySettings:
    return cast(IdentitySettings, resources.settings)


SettingsDep = Annotated[IdentitySettings, Depends(get_settings)]


async def client_address(request: Request) -> str:
    """The caller's address: the gateway's `X-Real-IP` (it sets it to the peer address and
    is the only way in), else the peer itself (a direct call on the loopback)."""
    forwarded = request.headers.get("x-real-ip")
    if forwarded:
        return forwarded
    return request.client.host if request.client else "unknown"


ClientDep = Annotated[str, Depends(client_address)]


async def get_identity_service(request: Request) -> IdentityService:
    return cast(IdentityService, request.state.identity_service)


IdentityServiceDep = Annotated[IdentityService, Depends(get_identity_service)]
