"""Reports app factory: `uvicorn reports.main:create_app --factory`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from mercato_shared.app import create_app as create_service_app
from mercato_shared.resources import Resources
from reports.api import router
from reports.config import ReportsSettings
from reports.queue import open_queue
from reports.stack import DEPENDENCIES


def create_app(settings: ReportsSettings | None = None) -> FastAPI:
    settings = settings or ReportsSettings()

    @asynccontextmanager
    async def lifespan(_: Resources) -> AsyncIterator[Mapping[str, Any]]:
        with open_queue(settings) as queue:
            yield {"job_queue": queue, "public_base_url": settings.public_base_url}

    return create_service_app(
        settings,
        title="Mercato reports",
        description="Report jobs: accepted here (202), computed by the Celery workers, "
        "recorded in Postgres.",
        routers=[router],
        dependencies=DEPENDENCIES,
        lifespan=lifespan,
    )
