"""Checkout HTTP routes."""

from __future__ import annotations

from fastapi import APIRouter

from checkout.deps import QuoteServiceDep
from checkout.errors import UnknownProductError, UnsupportedCurrencyError
from checkout.schemas import QuoteOut, QuoteRequest
from mercato_shared.responses import errors

router = APIRouter(tags=["quotes"])


@router.post(
    "/quote",
    response_model=QuoteOut,
    responses=errors(UnknownProductError, UnsupportedCurrencyError, 503),
)
async def create_quote(body: QuoteRequest, service: QuoteServiceDep) -> QuoteOut:
    """Price a cart: goods, every carrier that answers in time, tax, total in `currency`.

    `partial` is true when a carrier is missing; `sources` says for each partner whether it
    answered (`ok`), or `timeout`, `error`, `circuit_open`, and how long it took. Without tax
    (or FX, when a conversion is needed) there is no total: 503 `dependency_unavailable`.
    Public: no token needed.
    """
    return await service.quote(body)
