"""Orders' dependency aliases."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from mercato_shared.auth import Principal, require_roles
from mercato_shared.errors import ForbiddenError
from orders.service import OrderService


async def get_order_service(request: Request) -> OrderService:
    return cast(OrderService, request.state.order_service)


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
