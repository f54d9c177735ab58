"""The partners admin client's reading of a call record."""

from __future__ import annotations

from mercato_shop.testing.partners_admin import PartnerCall, overlapped


def call(started: int, ended: int | None) -> PartnerCall:
    outcome = "in_flight" if ended is None else "answered"
    return PartnerCall(partner="tax", started=started, ended=ended, outcome=outcome)


def test_calls_overlap_only_when_every_start_precedes_every_end() -> None:
    assert overlapped([call(1, 4), call(2, 5), call(3, 6)])
    assert not overlapped([call(1, 2), call(3, 4)])
    assert not overlapped([call(1, None), call(2, 3)])
    assert not overlapped([])
