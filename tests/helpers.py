"""Helpers shared by the services' integration tests (imported as `tests.helpers`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


@asynccontextmanager
async def app_client(app: FastAPI, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to `app` in this process, lifespan (and its resources) included."""
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


async def truncate(database_url: str, tables: str) -> None:
    """Empty the given tables (comma-separated) and restart their id sequences."""
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


async def flush_redis(url: str) -> None:
    """FLUSHDB on the test's own Redis database (never FLUSHALL)."""
    redis = Redis.from_url(url)
    await redis.flushdb()
    await redis.aclose()
