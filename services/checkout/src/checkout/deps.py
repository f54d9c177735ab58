"""Checkout's dependency aliases."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from checkout.service import QuoteService


async def get_quote_service(request: Request) -> QuoteService:
    return cast(QuoteService, request.state.quote_service)


QuoteServiceDep = Annotated[QuoteService, Depends(get_quote_service)]
