"""Catalog HTTP routes: thin, typed, documented."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Header, Path, Query, Request, Response, status

from catalog.deps import CatalogServiceDep
from catalog.errors import DuplicateSkuError
from catalog.pagination import PRODUCTS
from catalog.schemas import (
    Category,
    PopularProduct,
    ProductCreate,
    ProductOut,
    ProductPage,
    ProductUpdate,
)
from mercato_shared.auth import AdminUser
from mercato_shared.http_cache import public_json
from mercato_shared.json_types import MAX_ROW_ID
from mercato_shared.near_cache import Entry
from mercato_shared.pagination import InvalidCursorError
from mercato_shared.responses import conditional_read, errors
from mercato_shared.routing import register_id_segment

router = APIRouter(prefix="/products", tags=["products"])


# PATCH /products/popular is a 405 (Allow: GET), not an update of product "popular".
register_id_segment("product_id", siblings=("popular",))

# Reads are public and cacheable for PUBLIC_MAX_AGE_SECONDS (see mercato_shared.http_cache).
READ_RESPONSES = conditional_read()
IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        description="An `ETag` this client holds: a 304 without a body when it is current.",
    ),
]

ProductId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The product's id.")]
# Reads are public; writes need an access token with role admin (401 without, 403 other role).
WRITE_ERRORS = errors(401, 403)


@router.get("", response_model=ProductPage, responses=READ_RESPONSES | errors(InvalidCursorError))
async def list_products(
    service: CatalogServiceDep,
    request: Request,
    *,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(pattern=PRODUCTS.pattern)] = None,
    category: Annotated[Category | None, Query()] = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """Products in id order, one keyset page at a time."""
    page = await service.list_json(cursor=cursor, limit=limit, category=category)
    return _public(request, page, if_none_match)


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


@router.get("/{product_id:product_id}", response_model=ProductOut, responses=READ_RESPONSES)
async def get_product(
    product_id: ProductId,
    service: CatalogServiceDep,
    request: Request,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """One product, served from the cache (in process, then Redis) when it is warm."""
    return _public(request, await service.product_json(product_id), if_none_match)


def _public(request: Request, entry: Entry, if_none_match: str | None) -> Response:
    max_age = cast(int, request.state.public_max_age)
    return public_json(entry, if_none_match, max_age)


@router.post(
    "",
    response_model=ProductOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(401, 403, DuplicateSkuError),
)
async def create_product(
    body: ProductCreate, service: CatalogServiceDep, _admin: AdminUser
) -> ProductOut:
    return await service.create_product(body)


@router.patch("/{product_id:product_id}", response_model=ProductOut, responses=WRITE_ERRORS)
async def update_product(
    product_id: ProductId, body: ProductUpdate, service: CatalogServiceDep, _admin: AdminUser
) -> ProductOut:
    return await service.update_product(product_id, body)


@router.delete(
    "/{product_id:product_id}", status_code=status.HTTP_204_NO_CONTENT, responses=WRITE_ERRORS
)
async def delete_product(
    product_id: ProductId, service: CatalogServiceDep, _admin: AdminUser
) -> None:
    await service.delete_product(product_id)
