"""Catalog HTTP routes: thin, typed, documented."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from catalog.deps import CatalogServiceDep
from catalog.schemas import (
    Category,
    PopularProduct,
    ProductCreate,
    ProductOut,
    ProductPage,
    ProductUpdate,
)
from mercato_shared.auth import AdminUser
from mercato_shared.errors import ErrorResponse

router = APIRouter(prefix="/products", tags=["products"])

ProductId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The product's id.")]
# Reads are public; writes need an access token with role admin (401 without, 403 other role).
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse},
}


@router.get("", response_model=ProductPage)
async def list_products(
    service: CatalogServiceDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    category: Annotated[Category | None, Query()] = None,
) -> ProductPage:
    """Products in id order, one keyset page at a time."""
    return await service.list_products(cursor=cursor, limit=limit, category=category)


@router.get("/popular", response_model=list[PopularProduct])
async def popular_products(
    service: CatalogServiceDep, limit: Annotated[int, Query(ge=1, le=100)] = 10
) -> list[PopularProduct]:
    """Best sellers of the last days by units sold, best first.

    Catalog's own periodic job rebuilds the ranking from the orders export (catalog.popular).
    Before the first refresh, or with Redis down, the list is empty: a nice-to-have never
    fails the page.
    """
    return await service.popular(limit)


@router.get("/{product_id}", response_model=ProductOut)
async def get_product(product_id: ProductId, service: CatalogServiceDep) -> ProductOut:
    """One product, served from the cache when it is warm."""
    return await service.get_product(product_id)


@router.post(
    "",
    response_model=ProductOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": ErrorResponse}, **WRITE_ERRORS},
)
async def create_product(
    body: ProductCreate, service: CatalogServiceDep, _admin: AdminUser
) -> ProductOut:
    return await service.create_product(body)


@router.patch("/{product_id}", response_model=ProductOut, responses=WRITE_ERRORS)
async def update_product(
    product_id: ProductId, body: ProductUpdate, service: CatalogServiceDep, _admin: AdminUser
) -> ProductOut:
    return await service.update_product(product_id, body)


@router.delete("/{product_id}", status_code=status.HTTP_204_NO_CONTENT, responses=WRITE_ERRORS)
async def delete_product(
    product_id: ProductId, service: CatalogServiceDep, _admin: AdminUser
) -> None:
    await service.delete_product(product_id)
