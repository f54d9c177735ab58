"""Orders HTTP routes.

Export contract for reports (role `service` or `admin`):

    GET /orders/export?since=<ISO 8601 with offset>&until=<ISO 8601>&limit=<1..1000>&cursor=<c>
        [&user_id=<id>]

returns `{"items": [...], "next_cursor": "..." | null}`: orders with
`since <= created_at < until` in `(created_at, id)` order (none when until <= since), each
`{id, user_id, status, currency, total, created_at, items: [{product_id, name, quantity,
unit_price}]}`; money as decimal strings. Pass `next_cursor` back as `cursor` (with the same
since/until) until it is null. Pages are keyset walks of the `(created_at, id)` index; each
page costs two SQL statements whatever its size. With `user_id`, only that user's orders,
walking the `(user_id, created_at, id)` index: a purchases report costs what its customer's
orders cost, not what the shop's do.

Sales summary for reports (role `service` or `admin`), the same window and filter:

    GET /orders/sales-summary?since=<ISO 8601 with offset>&until=<ISO 8601>[&user_id=<id>]
        [&top_customers=<1..100>]

returns `SalesSummary`: what a sales or purchases report reads, aggregated by Postgres in one
statement: per currency the histogram of order totals and the top customers; per UTC day and
currency the orders and revenue; per UTC day, product and currency the orders holding the
product, its quantity and revenue; the orders holding each pair of distinct products (pairs
of at least two orders). Nothing per order crosses the wire, so a report costs its worker
what the summary holds, not what the shop sold.

Reservation lookup for catalog's reservation sweeper (role `service` or `admin`):

    POST /orders/reservation-lookup {"reservation_ids": [uuid, ...]} (1..1000 ids)

returns `{"ordered": [...]}`, the given ids an order was written with (one indexed query).
Catalog releases the stock of a reservation this does not name once it is old enough.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response, status
from pydantic import AwareDatetime

from mercato_shared.json_types import JSON_DATE_TIME, MAX_ROW_ID, in_utc
from mercato_shared.pagination import InvalidCursorError
from mercato_shared.responses import errors
from mercato_shared.routing import register_id_segment
from orders.deps import CustomerId, ExportCaller, OrderServiceDep
from orders.errors import (
    IdempotencyKeyInProgressError,
    IdempotencyKeyReusedError,
    MixedCurrenciesError,
    OutOfStockError,
    UnknownProductError,
)
from orders.pagination import EXPORT, OWN_ORDERS
from orders.schemas import (
    IDEMPOTENCY_KEY_PATTERN,
    OrderCreate,
    OrderOut,
    OrderPage,
    ReservationLookup,
    ReservationsOrdered,
    SalesSummary,
)
from orders.service import page_json

router = APIRouter(prefix="/orders", tags=["orders"])
# GET /orders/reservation-lookup is a 405 (Allow: POST), not a read of order "reservation-lookup".
register_id_segment("order_id", siblings=("export", "reservation-lookup", "sales-summary"))

AUTH_ERRORS = errors(401, 403)
PAGE_ERRORS = errors(401, 403, InvalidCursorError)
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY_PATTERN,
        max_length=255,
        description="Repeat a request safely: the same key and body return the same order.",
    ),
]


@router.post(
    "",
    response_model=OrderOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(
        401,
        403,
        OutOfStockError,
        UnknownProductError,
        IdempotencyKeyInProgressError,
        MixedCurrenciesError,
        IdempotencyKeyReusedError,
        503,
    ),
)
async def create_order(
    body: OrderCreate,
    user_id: CustomerId,
    service: OrderServiceDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> OrderOut:
    """Order products for the caller; stock is reserved in catalog, prices come from it."""
    order, status_code = await service.create(user_id, body, idempotency_key)
    response.status_code = status_code
    return order


@router.get("", response_model=OrderPage, responses=PAGE_ERRORS)
async def list_orders(
    user_id: CustomerId,
    service: OrderServiceDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(pattern=OWN_ORDERS.pattern)] = None,
) -> OrderPage:
    """The caller's orders with their items, newest first, one keyset page at a time."""
    return await service.list_for_user(user_id, cursor=cursor, limit=limit)


@router.get("/export", response_model=OrderPage, responses=PAGE_ERRORS)
async def export_orders(  # noqa: PLR0917 - one parameter per query field
    _caller: ExportCaller,
    service: OrderServiceDep,
    since: Annotated[AwareDatetime, JSON_DATE_TIME],
    until: Annotated[AwareDatetime, JSON_DATE_TIME],
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    cursor: Annotated[str | None, Query(pattern=EXPORT.pattern)] = None,
    user_id: Annotated[
        int | None,
        Query(ge=1, le=MAX_ROW_ID, description="Only this user's orders (a purchases report)."),
    ] = None,
) -> Response:
    """Every user's orders created in `[since, until)`, for reports (see module docs)."""
    since, until = in_utc(since), in_utc(until)
    page = page_json([], None)  # an empty period: nothing was created in it
    if since < until:
        page = await service.export(
            since=since, until=until, cursor=cursor, limit=limit, user_id=user_id
        )
    # The orders come as JSON from Postgres: a page of up to 1,000 is neither validated nor
    # encoded here again (the response model documents it).
    return Response(page, media_type="application/json")


@router.get("/sales-summary", response_model=SalesSummary, responses=AUTH_ERRORS)
async def sales_summary(
    _caller: ExportCaller,
    service: OrderServiceDep,
    since: Annotated[AwareDatetime, JSON_DATE_TIME],
    until: Annotated[AwareDatetime, JSON_DATE_TIME],
    user_id: Annotated[
        int | None,
        Query(ge=1, le=MAX_ROW_ID, description="Only this user's orders (a purchases report)."),
    ] = None,
    top_customers: Annotated[
        int, Query(ge=1, le=100, description="How many top customers per currency.")
    ] = 10,
) -> Response:
    """What a report reads of the orders created in `[since, until)`, aggregated (see module
    docs); an empty window has an empty summary."""
    summary = await service.sales_summary(
        since=in_utc(since), until=in_utc(until), user_id=user_id, top_customers=top_customers
    )
    # Built as JSON by Postgres (the response model documents it).
    return Response(summary, media_type="application/json")


@router.post("/reservation-lookup", response_model=ReservationsOrdered, responses=AUTH_ERRORS)
async def lookup_reservations(
    body: ReservationLookup, _caller: ExportCaller, service: OrderServiceDep
) -> ReservationsOrdered:
    """Which of these reservation ids an order was written with (for catalog's sweeper)."""
    return ReservationsOrdered(ordered=await service.ordered_reservations(body.reservation_ids))


@router.get("/{order_id:order_id}", response_model=OrderOut, responses=AUTH_ERRORS)
async def get_order(
    order_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
    user_id: CustomerId,
    service: OrderServiceDep,
) -> OrderOut:
    """One of the caller's orders; anyone else's is 404, exactly like a missing one."""
    return await service.get(user_id, order_id)
