"""Catalog's dependency aliases."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from catalog.popular import PopularRanking
from catalog.service import CatalogService
from mercato_shared.cache import Cache
from mercato_shared.deps import SessionsDep


async def get_product_cache(request: Request) -> Cache:
    return cast(Cache, request.state.product_cache)


CacheDep = Annotated[Cache, Depends(get_product_cache)]


async def get_popular_ranking(request: Request) -> PopularRanking:
    return cast(PopularRanking, request.state.popular_ranking)


async def get_catalog_service(
    sessions: SessionsDep,
    cache: CacheDep,
    ranking: Annotated[PopularRanking, Depends(get_popular_ranking)],
) -> CatalogService:
    return CatalogService(sessions, cache, ranking)


CatalogServiceDep = Annotated[CatalogService, Depends(get_catalog_service)]
