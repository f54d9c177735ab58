"""The partners' call record, rendezvous and hang-up detection, in process (no network).

Every assertion is on the order of events (sequence numbers) and outcomes, never a clock.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.types import Message

from mercato_shop.testing.partners_admin import PartnersAdmin
from partners.config import PartnersSettings
from partners.faults import PARTNERS, FaultBoard, FaultProfile, overlapped
from partners.hangup import CallerGoneError, unless_caller_leaves
from partners.main import create_app


async def test_concurrent_calls_overlap_in_the_record_and_sequential_ones_do_not() -> None:
    board = FaultBoard({}, random.Random(1))
    for partner in PARTNERS:
        board.set(partner, FaultProfile(rendezvous=True))
    async with asyncio.timeout(5):  # safety only: a missed rendezvous would wait forever
        await asyncio.gather(*(board.apply(p) for p in PARTNERS))
    calls = board.calls()
    assert [c.partner for c in calls] == list(PARTNERS)
    assert {c.outcome for c in calls} == {"answered"}
    assert overlapped(calls)

    board.reset()  # no rendezvous: one call after the other
    board.clear_stats()
    for partner in PARTNERS:
        await board.apply(partner)
    calls = board.calls()
    assert all(a.ended is not None and a.ended < b.started for a, b in itertools.pairwise(calls))
    assert not overlapped(calls)
    assert not overlapped([])


async def test_the_rendezvous_holds_until_every_member_has_a_request() -> None:
    board = FaultBoard({"tax": FaultProfile(rendezvous=True)}, random.Random(1))
    board.set("fx", FaultProfile(rendezvous=True))
    tax = asyncio.create_task(board.apply("tax"))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not tax.done(), "tax waits for fx"
    await board.apply("carrier-swift")  # not a member: passes
    await board.apply("fx")
    await tax
    assert [(c.partner, c.outcome) for c in board.calls()] == [
        ("tax", "answered"),
        ("carrier-swift", "answered"),
        ("fx", "answered"),
    ]


async def test_a_cancelled_call_is_abandoned_and_leaves_the_rendezvous() -> None:
    board = FaultBoard({}, random.Random(1))
    board.set("carrier-swift", FaultProfile(hang=True))
    hanging = asyncio.create_task(board.apply("carrier-swift"))
    await asyncio.sleep(0)
    assert [c.outcome for c in board.calls()] == ["in_flight"]
    hanging.cancel()
    with pytest.raises(asyncio.CancelledError):
        await hanging
    assert board.calls()[0].outcome == "abandoned"
    assert board.calls()[0].ended is not None

    board.set("tax", FaultProfile(rendezvous=True))
    board.set("fx", FaultProfile(rendezvous=True))
    left = asyncio.create_task(board.apply("fx"))
    await asyncio.sleep(0)
    left.cancel()
    with pytest.raises(asyncio.CancelledError):
        await left
    waiting = asyncio.create_task(board.apply("tax"))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiting.done(), "the fx request that left does not count for this round"
    board.reset()  # a changed profile lets held requests go on
    await waiting
    outcomes = [(c.partner, c.outcome) for c in board.calls()]
    assert outcomes[-2:] == [("fx", "abandoned"), ("tax", "answered")]


async def test_a_caller_that_hangs_up_cancels_the_held_work() -> None:
    messages: asyncio.Queue[Message] = asyncio.Queue()
    await messages.put({"type": "http.request", "body": b"", "more_body": False})
    board = FaultBoard({"fx": FaultProfile(hang=True)}, random.Random(1))
    held = asyncio.create_task(unless_caller_leaves(messages.get, board.apply("fx")))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not held.done()
    await messages.put({"type": "http.disconnect"})
    with pytest.raises(CallerGoneError):
        await held
    assert [c.outcome for c in board.calls()] == ["abandoned"]

    quiet: asyncio.Queue[Message] = asyncio.Queue()
    assert await unless_caller_leaves(quiet.get, asyncio.sleep(0, "answer")) == "answer"
    with pytest.raises(ZeroDivisionError):
        await unless_caller_leaves(quiet.get, _fails())


async def _fails() -> None:
    raise ZeroDivisionError


@pytest.fixture
async def admin() -> AsyncIterator[PartnersAdmin]:
    app = create_app(PartnersSettings(partners_random_seed=7))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)  # a loopback client address
        async with httpx.AsyncClient(transport=transport, base_url="http://partners") as client:
            yield PartnersAdmin(client)


async def test_the_admin_api_serves_the_call_record(admin: PartnersAdmin) -> None:
    await admin.fault("tax", error_rate=1.0)
    assert (await admin.client.get("/tax/rate", params={"country": "DE"})).status_code == 500
    assert (await admin.client.get("/fx/rates")).status_code == 200
    calls = await admin.settled_calls()
    assert [(c.partner, c.outcome) for c in calls] == [("tax", "failed"), ("fx", "answered")]
    assert calls[0].ended is not None
    assert calls[0].ended < calls[1].started
    await admin.reset()
    assert await admin.calls() == []
    assert await admin.requests("tax") == 0


async def test_the_call_record_is_loopback_only() -> None:
    app = create_app(PartnersSettings())
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=("203.0.113.9", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://partners") as client:
            response = await client.get("/admin/calls")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
