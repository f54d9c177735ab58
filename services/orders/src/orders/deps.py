"""Orders' dependency aliases."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from mercato_shared.auth import Principal, require_roles
from mercato_shared.deps import SessionDep, WritesDep
from mercato_shared.errors import ForbiddenError
from orders.claims import Claims
from orders.clients import CatalogClient
from orders.service import OrderService


async def get_catalog_client(request: Request) -> CatalogClient:
    return cast(CatalogClient, request.state.catalog)


async def get_claims(request: Request) -> Claims:
    return cast(Claims, request.state.claims)


async def get_order_service(
    session: SessionDep,
    catalog: Annotated[CatalogClient, Depends(get_catalog_client)],
    claims: Annotated[Claims, Depends(get_claims)],
    writes: WritesDep,
) -> OrderService:
    return OrderService(session, writes, catalog, claims)


OrderServiceDep = Annotated[OrderService, Depends(get_order_service)]


async def get_customer_id(
    principal: Annotated[Principal, Depends(require_roles("customer", "admin"))],
) -> int:
    """The caller's user id: orders belong to people, not to machine clients."""
    if not principal.subject.isdigit():
        raise ForbiddenError("Only user accounts have orders.")
    return int(principal.subject)


CustomerId = Annotated[int, Depends(get_customer_id)]
ExportCaller = Annotated[Principal, Depends(require_roles("service", "admin"))]
