"""Catalog's dependency aliases."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from catalog.service import CatalogService, ReservationService


async def get_catalog_service(request: Request) -> CatalogService:
    """The process's one service object (built by the lifespan): a single dependency to
    solve per request."""
    return cast(CatalogService, request.state.catalog_service)


CatalogServiceDep = Annotated[CatalogService, Depends(get_catalog_service)]


async def get_reservations(request: Request) -> ReservationService:
    return cast(ReservationService, request.state.reservations)


ReservationsDep = Annotated[ReservationService, Depends(get_reservations)]
