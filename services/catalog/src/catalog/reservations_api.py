"""Stock reservation routes, for machine clients (orders) with a `service` token.

    POST   /reservations        {"id": uuid, "lines": [{"product_id", "quantity"}]}
           201 reserved now, 200 the same reservation again (a retry), 409 out_of_stock
           (nothing taken), 409 unknown_product, 409 reservation_conflict (same id, other
           lines, or already released)
    DELETE /reservations/{id}   204 stock given back (idempotent; an unknown id is refused
                                for good, so a late reservation cannot leak stock)
    GET    /reservations/{id}   the reservation

Why a service token and not the customer's: reserving stock is orders' job. If catalog
accepted customers' tokens here, any customer could hold stock without ordering.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from catalog.deps import CacheDep
from catalog.errors import OutOfStockError, ReservationConflictError, UnknownProductError
from catalog.reservation_schemas import ReservationIn, ReservationOut
from catalog.reservations import ReservationService
from mercato_shared.auth import require_roles
from mercato_shared.deps import SessionsDep, WritesDep
from mercato_shared.responses import errors

router = APIRouter(
    prefix="/reservations",
    tags=["reservations"],
    dependencies=[Depends(require_roles("service"))],
    responses=errors(401, 403),
)


async def get_reservations(
    sessions: SessionsDep, writes: WritesDep, cache: CacheDep
) -> ReservationService:
    return ReservationService(sessions, writes, cache)


ReservationsDep = Annotated[ReservationService, Depends(get_reservations)]


@router.post(
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


@router.delete("/{reservation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def release(reservation_id: uuid.UUID, reservations: ReservationsDep) -> None:
    await reservations.release(reservation_id)


@router.get("/{reservation_id}", response_model=ReservationOut)
async def get_reservation(
    reservation_id: uuid.UUID, reservations: ReservationsDep
) -> ReservationOut:
    return await reservations.get(reservation_id)
