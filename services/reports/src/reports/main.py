"""Reports app factory (`python -m mercato_shared.serve` serves it)."""

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
from reports.quota import ReportQuota
from reports.service import ReportsService
from reports.stack import DEPENDENCIES


def create_app(settings: ReportsSettings | None = None) -> FastAPI:
    settings = settings or ReportsSettings()

    @asynccontextmanager
    async def lifespan(resources: Resources) -> AsyncIterator[Mapping[str, Any]]:
        if resources.sessions is None:
            msg = "reports needs its database (POSTGRES_URL)"
            raise RuntimeError(msg)
        quota = ReportQuota(
            max_in_flight=settings.report_max_in_flight_per_user,
            max_per_hour=settings.report_max_per_hour_per_user,
            retry_seconds=settings.report_quota_retry_seconds,
        )
        with open_queue(settings) as queue:
            yield {
                "reports_service": ReportsService(resources.sessions, queue, quota),
                "public_base_url": settings.public_base_url,
            }

    return create_service_app(
        settings,
        title="Mercato reports",
        description="Report jobs: accepted here (202), computed by the Celery workers, "
        "recorded in Postgres.",
        routers=[router],
        dependencies=DEPENDENCIES,
        lifespan=lifespan,
    )
