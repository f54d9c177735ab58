"""Identity's dependency aliases."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from identity.config import IdentitySettings
from identity.passwords import Passwords
from identity.service import IdentityService
from identity.throttle import LoginThrottle
from mercato_shared.deps import ResourcesDep, SessionDep


async def get_passwords(request: Request) -> Passwords:
    return cast(Passwords, request.state.passwords)


async def get_settings(resources: ResourcesDep) -> IdentitySettings:
    return cast(IdentitySettings, resources.settings)


PasswordsDep = Annotated[Passwords, Depends(get_passwords)]
SettingsDep = Annotated[IdentitySettings, Depends(get_settings)]


async def get_throttle(request: Request) -> LoginThrottle:
    return cast(LoginThrottle, request.state.login_throttle)


def client_address(request: Request) -> str:
    """The caller's address: the gateway's `X-Real-IP` (it sets it to the peer address and
    is the only way in), else the peer itself (a direct call on the loopback)."""
    forwarded = request.headers.get("x-real-ip")
    if forwarded:
        return forwarded
    return request.client.host if request.client else "unknown"


ThrottleDep = Annotated[LoginThrottle, Depends(get_throttle)]
ClientDep = Annotated[str, Depends(client_address)]


async def get_identity_service(
    session: SessionDep,
    passwords: PasswordsDep,
    settings: SettingsDep,
    throttle: ThrottleDep,
    client: ClientDep,
) -> IdentityService:
    return IdentityService(session, passwords, settings, throttle, client)


IdentityServiceDep = Annotated[IdentityService, Depends(get_identity_service)]
