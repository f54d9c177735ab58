"""Partners app factory (`python -m mercato_shared.serve` serves it)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from mercato_shared.app import create_app as create_service_app
from mercato_shared.resources import Resources
from partners.api import admin_router, router
from partners.config import PartnersSettings
from partners.faults import FaultBoard
from partners.stack import DEPENDENCIES


def create_app(
    settings: PartnersSettings | None = None, rng: random.Random | None = None
) -> FastAPI:
    settings = settings or PartnersSettings()

    @asynccontextmanager
    async def lifespan(_: Resources) -> AsyncIterator[Mapping[str, Any]]:
        source = rng or random.Random(settings.partners_random_seed)  # noqa: S311 - simulation
        yield {"fault_board": FaultBoard(settings.partner_faults, source)}

    return create_service_app(
        settings,
        title="Mercato partners (simulated)",
        description="Carriers, tax and FX standing in for the outside world; faults at run time.",
        routers=[router, admin_router],
        dependencies=DEPENDENCIES,
        lifespan=lifespan,
    )
