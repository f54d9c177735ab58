"""The simulated partners' routes: the public ones (what checkout calls), and the admin ones
(faults, counters, the call record).

Every route counts and records the request and applies the partner's fault profile before
answering; a caller that hangs up meanwhile is noticed (`partners.hangup`).
Quotes, rates and tax lookups are idempotent reads (GET); booking a shipment is not (POST).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, status

from mercato_shop.countries import Country
from partners.deps import FaultBoardDep, require_loopback
from partners.faults import Call, FaultBoard, FaultProfile, PartnerName
from partners.hangup import unless_caller_leaves
from partners.pricing import CARRIER_MODELS, FX_PER_EUR, VAT_RATES
from partners.schemas import (
    Carrier,
    FxRatesOut,
    ShipmentIn,
    ShipmentOut,
    ShippingQuoteOut,
    ShippingQuoteQuery,
    TaxRateOut,
)

router = APIRouter()

CarrierPath = Annotated[Carrier, Path(description="The carrier.")]


async def misbehave(request: Request, board: FaultBoard, partner: PartnerName) -> None:
    """The partner's fault profile, for as long as the caller waits for it."""
    await unless_caller_leaves(request.receive, board.apply(partner))


@router.get("/carriers/{carrier}/quote", response_model=ShippingQuoteOut, tags=["carriers"])
async def carrier_quote(
    carrier: CarrierPath,
    query: Annotated[ShippingQuoteQuery, Query()],
    board: FaultBoardDep,
    request: Request,
) -> ShippingQuoteOut:
    """A shipping price for a parcel of `items` items weighing `weight_grams` to `country`."""
    partner = f"carrier-{carrier}"
    await misbehave(request, board, partner)  # type: ignore[arg-type]
    quote = CARRIER_MODELS[partner](query.country, query.weight_grams, query.items)
    return ShippingQuoteOut(
        carrier=carrier,
        service_level=quote.service_level,
        price=quote.price,
        estimated_days=quote.estimated_days,
    )


@router.post(
    "/carriers/{carrier}/shipments",
    response_model=ShipmentOut,
    status_code=status.HTTP_201_CREATED,
    tags=["carriers"],
)
async def book_shipment(
    carrier: CarrierPath, body: ShipmentIn, board: FaultBoardDep, request: Request
) -> ShipmentOut:
    """Book a shipment: NOT idempotent (each call books another), so callers never retry it."""
    await misbehave(request, board, f"carrier-{carrier}")  # type: ignore[arg-type]
    return ShipmentOut(carrier=carrier, shipment_number=board.next_shipment_number())


@router.get("/tax/rate", response_model=TaxRateOut, tags=["tax"])
async def tax_rate(
    country: Annotated[Country, Query()], board: FaultBoardDep, request: Request
) -> TaxRateOut:
    """The VAT (or sales tax) rate of the destination country."""
    await misbehave(request, board, "tax")
    return TaxRateOut(country=country, rate=VAT_RATES[country])


@router.get("/fx/rates", response_model=FxRatesOut, tags=["fx"])
async def fx_rates(board: FaultBoardDep, request: Request) -> FxRatesOut:
    """Exchange rates: units of each currency per 1 EUR."""
    await misbehave(request, board, "fx")
    return FxRatesOut(rates=dict(FX_PER_EUR))


# Run-time fault injection, request counters and the call record, for tests and demos.
#
# These routes are reachable from loopback only (`require_loopback`), and the partners service
# is never routed by the gateway: they are a test harness, not a product API.
admin_router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_loopback)])


@admin_router.get("/faults")
async def get_faults(board: FaultBoardDep) -> dict[str, FaultProfile]:
    """The live fault profile of every partner."""
    return board.profiles()


@admin_router.put("/faults/{partner}")
async def put_fault(partner: PartnerName, body: FaultProfile, board: FaultBoardDep) -> FaultProfile:
    """Replace one partner's fault profile; takes effect on its next request."""
    board.set(partner, body)
    return body


@admin_router.post("/faults/reset", status_code=status.HTTP_204_NO_CONTENT)
async def reset_faults(board: FaultBoardDep) -> None:
    """Every partner back to the profile it started with (`PARTNER_FAULTS`)."""
    board.reset()


@admin_router.get("/stats")
async def get_stats(board: FaultBoardDep) -> dict[str, dict[str, int]]:
    """Requests each partner has received (counted before any fault is applied)."""
    return {"requests": {partner: board.requests[partner] for partner in board.profiles()}}


@admin_router.get("/calls")
async def get_calls(board: FaultBoardDep) -> list[Call]:
    """The recorded calls, oldest first: each one's start and end in one sequence of events
    (overlapping calls: every start before the first end) and how it ended."""
    return board.calls()


@admin_router.post("/stats/reset", status_code=status.HTTP_204_NO_CONTENT)
async def reset_stats(board: FaultBoardDep) -> None:
    """Counters and call record back to empty."""
    board.clear_stats()
