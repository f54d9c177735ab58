"""Run-time fault injection, request counters and the call record, for tests and demos.

These routes are reachable from loopback only (`require_loopback`), and the partners service
is never routed by the gateway: they are a test harness, not a product API.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from partners.deps import FaultBoardDep, require_loopback
from partners.faults import Call, FaultProfile, PartnerName

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_loopback)])


@router.get("/faults")
async def get_faults(board: FaultBoardDep) -> dict[str, FaultProfile]:
    """The live fault profile of every partner."""
    return board.profiles()


@router.put("/faults/{partner}")
async def put_fault(partner: PartnerName, body: FaultProfile, board: FaultBoardDep) -> FaultProfile:
    """Replace one partner's fault profile; takes effect on its next request."""
    board.set(partner, body)
    return body


@router.post("/faults/reset", status_code=status.HTTP_204_NO_CONTENT)
async def reset_faults(board: FaultBoardDep) -> None:
    """Every partner back to the profile it started with (`PARTNER_FAULTS`)."""
    board.reset()


@router.get("/stats")
async def get_stats(board: FaultBoardDep) -> dict[str, dict[str, int]]:
    """Requests each partner has received (counted before any fault is applied)."""
    return {"requests": {partner: board.requests[partner] for partner in board.profiles()}}


@router.get("/calls")
async def get_calls(board: FaultBoardDep) -> list[Call]:
    """The recorded calls, oldest first: each one's start and end in one sequence of events
    (overlapping calls: every start before the first end) and how it ended."""
    return board.calls()


@router.post("/stats/reset", status_code=status.HTTP_204_NO_CONTENT)
async def reset_stats(board: FaultBoardDep) -> None:
    """Counters and call record back to empty."""
    board.clear_stats()
