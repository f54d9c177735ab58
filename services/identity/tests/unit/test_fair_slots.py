"""The hashing slots are shared round-robin between clients, and each client's queue is
bounded. Every test decides on the order things happened in, never on a timing."""

from __future__ import annotations

import asyncio

import pytest

from identity.fair_slots import FairSlots, SlotsBusyError


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_backlog_of_one_client_does_not_delay_another_beyond_its_turn() -> None:
    slots = FairSlots(concurrency=1, max_waiting=100)
    served: list[str] = []
    release = asyncio.Event()

    async def request(key: str, name: str) -> None:
        async with slots.slot(key):
            served.append(name)
            await release.wait()

    holder = asyncio.create_task(request("attacker", "a0"))
    await _settle()
    backlog = [asyncio.create_task(request("attacker", f"a{i}")) for i in range(1, 11)]
    await _settle()
    other = asyncio.create_task(request("someone", "s"))
    await _settle()
    release.set()
    await asyncio.gather(holder, *backlog, other)

    # A FIFO queue would serve "s" last, after the attacker's whole backlog of ten.
    assert served[:3] == ["a0", "a1", "s"]
    assert sorted(served) == sorted([*(f"a{i}" for i in range(11)), "s"])


async def test_clients_are_served_in_turn() -> None:
    slots = FairSlots(concurrency=1, max_waiting=100)
    served: list[str] = []
    release = asyncio.Event()

    async def request(key: str) -> None:
        async with slots.slot(key):
            served.append(key)
            await release.wait()

    first = asyncio.create_task(request("x"))
    await _settle()
    tasks = [asyncio.create_task(request(key)) for key in ["a", "a", "a", "b", "b", "c"]]
    await _settle()
    release.set()
    await asyncio.gather(first, *tasks)

    assert served == ["x", "a", "b", "c", "a", "b", "a"]


async def test_a_client_with_a_full_queue_is_refused_at_once() -> None:
    slots = FairSlots(concurrency=1, max_waiting=2)
    release = asyncio.Event()

    async def request(key: str) -> None:
        async with slots.slot(key):
            await release.wait()

    tasks = [asyncio.create_task(request("a")) for _ in range(3)]  # one runs, two wait
    await _settle()
    assert slots.waiting("a") == 2
    with pytest.raises(SlotsBusyError):
        await request("a")
    other = asyncio.create_task(request("b"))  # another client still queues
    await _settle()
    assert slots.waiting("b") == 1
    release.set()
    await asyncio.gather(*tasks, other)
    assert slots.waiting("a") == slots.waiting("b") == 0


async def test_a_cancelled_waiter_gives_up_its_place_and_no_slot_is_lost() -> None:
    slots = FairSlots(concurrency=1, max_waiting=10)
    release = asyncio.Event()
    served: list[str] = []

    async def request(key: str) -> None:
        async with slots.slot(key):
            served.append(key)
            await release.wait()

    holder = asyncio.create_task(request("a"))
    await _settle()
    leaving = asyncio.create_task(request("b"))
    staying = asyncio.create_task(request("c"))
    await _settle()
    leaving.cancel()
    await _settle()
    release.set()
    await asyncio.gather(holder, staying)
    assert served == ["a", "c"]
    # Every slot came back: a new request runs at once.
    release.clear()
    again = asyncio.create_task(request("d"))
    await _settle()
    assert served[-1] == "d"
    release.set()
    await again
