"""`Annotated` dependency aliases shared by every service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, cast

import httpx
from fastapi import Depends, Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from mercato_shared.resources import Resources


def get_resources(request: Request) -> Resources:
    return cast(Resources, request.state.resources)


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def get_session(resources: ResourcesDep) -> AsyncIterator[AsyncSession]:
    if resources.sessions is None:
        msg = "this service has no database"
        raise RuntimeError(msg)
    async with resources.sessions() as session:
        yield session


def get_redis(resources: ResourcesDep) -> Redis:
    if resources.redis is None:
        msg = "this service has no Redis"
        raise RuntimeError(msg)
    return resources.redis


def get_http_client(resources: ResourcesDep) -> httpx.AsyncClient:
    return resources.http


SessionDep = Annotated[AsyncSession, Depends(get_session)]
RedisDep = Annotated[Redis, Depends(get_redis)]
HttpClientDep = Annotated[httpx.AsyncClient, Depends(get_http_client)]
