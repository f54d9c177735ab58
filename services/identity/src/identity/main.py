"""Identity app factory (`python -m mercato_shared.serve` serves it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI

from identity.api import router
from identity.config import IdentitySettings
from identity.passwords import Passwords
from identity.service import IdentityService
from identity.stack import DEPENDENCIES
from identity.throttle import LoginThrottle
from mercato_shared.app import create_app as create_service_app
from mercato_shared.resources import Resources


def create_app(settings: IdentitySettings | None = None) -> FastAPI:
    settings = settings or IdentitySettings()

    @asynccontextmanager
    async def lifespan(resources: Resources) -> AsyncIterator[Mapping[str, Any]]:
        # Building the hasher hashes a dummy password: keep it off the event loop too.
        make = partial(
            Passwords,
            concurrency=settings.password_hash_concurrency,
            max_waiting=settings.password_hash_waiting_per_client,
        )
        if resources.sessions is None:
            msg = "identity needs its database (POSTGRES_URL)"
            raise RuntimeError(msg)
        throttle = LoginThrottle(resources.require_redis(), settings.login_failure_limits)
        passwords = await asyncio.to_thread(make)
        yield {
            "identity_service": IdentityService(resources.sessions, passwords, settings, throttle)
        }

    return create_service_app(
        settings,
        title="Mercato identity",
        description="Accounts, argon2 passwords, EdDSA access tokens and revocable refresh tokens.",
        routers=[router],
        dependencies=DEPENDENCIES,
        lifespan=lifespan,
    )
