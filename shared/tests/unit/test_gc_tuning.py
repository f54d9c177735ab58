"""`tune_gc`: the startup heap is frozen and the young-generation threshold raised."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from mercato_shared.gc_tuning import tune_gc


@pytest.fixture(autouse=True)
def restore_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_freezes_what_is_alive_and_sets_the_young_threshold() -> None:
    _, gen1, gen2 = gc.get_threshold()
    tune_gc(12_345)
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (12_345, gen1, gen2)


def test_zero_keeps_pythons_threshold() -> None:
    before = gc.get_threshold()
    tune_gc(0)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() > 0
