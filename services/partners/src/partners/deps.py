"""Partners' dependency aliases."""

from __future__ import annotations

import ipaddress
from typing import Annotated, cast

from fastapi import Depends, Request

from mercato_shared.errors import ForbiddenError
from partners.faults import FaultBoard


async def get_fault_board(request: Request) -> FaultBoard:
    return cast(FaultBoard, request.state.fault_board)


FaultBoardDep = Annotated[FaultBoard, Depends(get_fault_board)]


async def require_loopback(request: Request) -> None:
    """Admin endpoints answer only callers on this machine (loopback addresses)."""
    host = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ForbiddenError("The admin endpoints are reachable from loopback only.")
