"""Catalog's dependency aliases."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from catalog.repository import ProductRepository
from catalog.service import CatalogService
from mercato_shared.cache import Cache
from mercato_shared.deps import SessionDep


async def get_product_cache(request: Request) -> Cache:
    return cast(Cache, request.state.product_cache)


CacheDep = Annotated[Cache, Depends(get_product_cache)]


async def get_catalog_service(session: SessionDep, cache: CacheDep) -> CatalogService:
    return CatalogService(ProductRepository(session), cache)


CatalogServiceDep = Annotated[CatalogService, Depends(get_catalog_service)]
