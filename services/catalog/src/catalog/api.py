"""Catalog HTTP routes: thin, typed, documented. Products (public reads, admin writes) and
stock reservations (machine clients with a `service` token)."""

from __future__ import annotations

import uuid
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status

from catalog.deps import CatalogServiceDep, ReservationsDep
from catalog.errors import (
    DuplicateSkuError,
    OutOfStockError,
    ReservationConflictError,
    UnknownProductError,
)
from catalog.http_cache import public_json
from catalog.pagination import PRODUCTS
from catalog.schemas import (
    Category,
    PopularProduct,
    ProductCreate,
    ProductOut,
    ProductPage,
    ProductUpdate,
    ReservationIn,
    ReservationOut,
)
from mercato_shared.auth import AdminUser, require_roles
from mercato_shared.json_types import MAX_ROW_ID
from mercato_shared.near_cache import Entry
from mercato_shared.pagination import InvalidCursorError
from mercato_shared.responses import conditional_read, errors
from mercato_shared.routing import register_id_segment

router = APIRouter(prefix="/products", tags=["products"])


# PATCH /products/popular is a 405 (Allow: GET), not an update of product "popular".
register_id_segment("product_id", siblings=("popular",))

# Reads are public and cacheable for PUBLIC_MAX_AGE_SECONDS (see catalog.http_cache).
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


# Stock reservation routes, for machine clients (orders) with a `service` token.
#
#     POST   /reservations        {"id": uuid, "lines": [{"product_id", "quantity"}]}
#            201 reserved now, 200 the same reservation again (a retry), 409 out_of_stock
#            (nothing taken), 409 unknown_product, 409 reservation_conflict (same id, other
#            lines, or already released)
#     DELETE /reservations/{id}   204 stock given back (idempotent; an unknown id is refused
#                                 for good, so a late reservation cannot leak stock)
#     GET    /reservations/{id}   the reservation
#
# Why a service token and not the customer's: reserving stock is orders' job. If catalog
# accepted customers' tokens here, any customer could hold stock without ordering.
reservations_router = APIRouter(
    prefix="/reservations",
    tags=["reservations"],
    dependencies=[Depends(require_roles("service"))],
    responses=errors(401, 403),
)


@reservations_router.post(
    "",
    response_model=ReservationOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": ReservationOut, "description": "The same reservation again (a retry)."},
        **errors(OutOfStockError, UnknownProductError, ReservationConflictError),
    },
)
async def reserve(
    body: ReservationIn, reservations: ReservationsDep, response: Response
) -> ReservationOut:
    reservation, created = await reservations.reserve(body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return reservation


@reservations_router.delete("/{reservation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def release(reservation_id: uuid.UUID, reservations: ReservationsDep) -> None:
    await reservations.release(reservation_id)


@reservations_router.get("/{reservation_id}", response_model=ReservationOut)
async def get_reservation(
    reservation_id: uuid.UUID, reservations: ReservationsDep
) -> ReservationOut:
    return await reservations.get(reservation_id)
