"""Identity's dependency aliases."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from identity.config import IdentitySettings
from identity.passwords import Passwords
from identity.service import IdentityService
from mercato_shared.deps import ResourcesDep, SessionDep


async def get_passwords(request: Request) -> Passwords:
    return cast(Passwords, request.state.passwords)


async def get_settings(resources: ResourcesDep) -> IdentitySettings:
    return cast(IdentitySettings, resources.settings)


PasswordsDep = Annotated[Passwords, Depends(get_passwords)]
SettingsDep = Annotated[IdentitySettings, Depends(get_settings)]


async def get_identity_service(
    session: SessionDep, passwords: PasswordsDep, settings: SettingsDep
) -> IdentityService:
    return IdentityService(session, passwords, settings)


IdentityServiceDep = Annotated[IdentityService, Depends(get_identity_service)]
