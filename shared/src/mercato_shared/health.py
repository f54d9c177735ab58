"""Liveness (`/healthz`) and readiness (`/readyz`, with a report per dependency)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from mercato_shared.db import ping as ping_postgres
from mercato_shared.deps import ResourcesDep

CHECK_TIMEOUT_SECONDS = 1.0
# A service may put a callable under this lifespan-state key; what it returns (cheap, no I/O)
# is shown as `details` in `/readyz` (e.g. checkout's circuit breakers). It never changes
# the readiness status.
READINESS_DETAILS_KEY = "readiness_details"
ReadinessDetails = Callable[[], Mapping[str, Any]]

router = APIRouter(include_in_schema=False)


class Check(BaseModel):
    status: Literal["up", "down"]
    latency_ms: float
    error: str | None = None


class Readiness(BaseModel):
    status: Literal["ready", "degraded", "not_ready"]
    checks: dict[str, Check]
    details: dict[str, Any] | None = None


async def _check(probe: Awaitable[object]) -> Check:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await probe
    except Exception as exc:  # any failure of the probe means "down"
        elapsed = (time.perf_counter() - started) * 1000
        return Check(status="down", latency_ms=round(elapsed, 2), error=type(exc).__name__)
    return Check(status="up", latency_ms=round((time.perf_counter() - started) * 1000, 2))


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness)
async def readyz(resources: ResourcesDep, request: Request) -> JSONResponse:
    """Postgres down means not ready (503); Redis down means degraded but serving (200).

    The cache degrades to the database, so taking the service out of rotation because
    Redis is down would turn a slowdown into an outage.
    """
    checks: dict[str, Check] = {}
    if resources.engine is not None:
        checks["postgres"] = await _check(ping_postgres(resources.engine))
    if resources.redis is not None:
        checks["redis"] = await _check(resources.redis.ping())
    if checks.get("postgres", Check(status="up", latency_ms=0)).status == "down":
        status: Literal["ready", "degraded", "not_ready"] = "not_ready"
    elif any(check.status == "down" for check in checks.values()):
        status = "degraded"
    else:
        status = "ready"
    details: ReadinessDetails | None = getattr(request.state, READINESS_DETAILS_KEY, None)
    body = Readiness(
        status=status, checks=checks, details=None if details is None else {**details()}
    )
    payload = body.model_dump()
    if body.details is None:
        del payload["details"]
    return JSONResponse(payload, status_code=503 if status == "not_ready" else 200)
