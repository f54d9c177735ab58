"""The simulated partners' public routes (what checkout calls).

Every route counts the request and applies the partner's fault profile before answering.
Quotes, rates and tax lookups are idempotent reads (GET); booking a shipment is not (POST).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from mercato_shared.countries import Country
from partners.deps import FaultBoardDep
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


@router.get("/carriers/{carrier}/quote", response_model=ShippingQuoteOut, tags=["carriers"])
async def carrier_quote(
    carrier: CarrierPath,
    query: Annotated[ShippingQuoteQuery, Query()],
    board: FaultBoardDep,
) -> ShippingQuoteOut:
    """A shipping price for a parcel of `items` items weighing `weight_grams` to `country`."""
    partner = f"carrier-{carrier}"
    await board.apply(partner)  # type: ignore[arg-type]
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
    carrier: CarrierPath, body: ShipmentIn, board: FaultBoardDep
) -> ShipmentOut:
    """Book a shipment: NOT idempotent (each call books another), so callers never retry it."""
    await board.apply(f"carrier-{carrier}")  # type: ignore[arg-type]
    return ShipmentOut(carrier=carrier, shipment_number=board.next_shipment_number())


@router.get("/tax/rate", response_model=TaxRateOut, tags=["tax"])
async def tax_rate(country: Annotated[Country, Query()], board: FaultBoardDep) -> TaxRateOut:
    """The VAT (or sales tax) rate of the destination country."""
    await board.apply("tax")
    return TaxRateOut(country=country, rate=VAT_RATES[country])


@router.get("/fx/rates", response_model=FxRatesOut, tags=["fx"])
async def fx_rates(board: FaultBoardDep) -> FxRatesOut:
    """Exchange rates: units of each currency per 1 EUR."""
    await board.apply("fx")
    return FxRatesOut(rates=dict(FX_PER_EUR))
