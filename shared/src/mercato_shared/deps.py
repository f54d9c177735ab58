"""`Annotated` dependency aliases shared by every service.

Every dependency here and in the services is `async def` even when it awaits nothing:
FastAPI runs a plain `def` dependency in the thread pool, and a thread hop costs more CPU
than a cached product read itself (`bench/README.md`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, cast

from fastapi import Depends, Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mercato_shared.resources import Resources


async def get_resources(request: Request) -> Resources:
    return cast(Resources, request.state.resources)


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def get_sessions(resources: ResourcesDep) -> async_sessionmaker[AsyncSession]:
    """The session factory, for work that opens its own sessions (e.g. a shared cache load)."""
    if resources.sessions is None:
        msg = "this service has no database"
        raise RuntimeError(msg)
    return resources.sessions


SessionsDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessions)]


async def get_session(sessions: SessionsDep) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session


async def get_writes(resources: ResourcesDep) -> AsyncEngine:
    """The autocommit view of the pool, for a write that is one statement."""
    if resources.writes is None:
        msg = "this service has no database"
        raise RuntimeError(msg)
    return resources.writes


WritesDep = Annotated[AsyncEngine, Depends(get_writes)]


async def get_redis(resources: ResourcesDep) -> Redis:
    if resources.redis is None:
        msg = "this service has no Redis"
        raise RuntimeError(msg)
    return resources.redis


SessionDep = Annotated[AsyncSession, Depends(get_session)]
RedisDep = Annotated[Redis, Depends(get_redis)]
