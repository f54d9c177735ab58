"""Keyset cursors: round trips, every string of a listing's published form is a position in
it, and anything else (another listing's cursor included) is refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mercato_shared.pagination import ID_KEY, TIME_ID_KEY, Cursor, InvalidCursorError

PRODUCTS = Cursor("p", ID_KEY)
EXPORT = Cursor("t", TIME_ID_KEY)


@pytest.mark.parametrize("last_id", [1, 42, 2**63 - 1])
def test_id_cursors_round_trip_in_their_published_form(last_id: int) -> None:
    cursor = PRODUCTS.encode(last_id)
    assert cursor == f"p.{last_id}"
    assert re.fullmatch(PRODUCTS.pattern, cursor)
    assert PRODUCTS.decode(cursor) == last_id


@pytest.mark.parametrize(
    "created_at",
    [
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC),
        datetime(5000, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
def test_time_cursors_round_trip_in_their_published_form(created_at: datetime) -> None:
    cursor = EXPORT.encode((created_at, 9))
    assert re.fullmatch(EXPORT.pattern, cursor)
    assert EXPORT.decode(cursor) == (created_at, 9)


@given(st.from_regex(PRODUCTS.pattern, fullmatch=True))
def test_every_id_cursor_of_the_published_form_is_a_position(cursor: str) -> None:
    assert 0 <= PRODUCTS.decode(cursor) <= 2**63 - 1


@given(st.from_regex(EXPORT.pattern, fullmatch=True))
def test_every_time_cursor_of_the_published_form_is_a_position(cursor: str) -> None:
    created_at, row_id = EXPORT.decode(cursor)
    assert created_at.tzinfo is UTC
    assert 0 <= row_id <= 2**63 - 1


def test_a_key_past_the_largest_id_is_the_largest_id() -> None:
    assert PRODUCTS.decode(f"p.{10**19 - 1}") == 2**63 - 1


@pytest.mark.parametrize(
    "cursor",
    ["", "!!!", "é", "p.", "p.x", "p.-1", "p.1.2", "p1", "o.1", "1", "p.\u0661", "p.1\n", " p.1"],
)
def test_foreign_id_cursors_are_refused(cursor: str) -> None:
    assert not re.fullmatch(PRODUCTS.pattern, cursor)
    with pytest.raises(InvalidCursorError) as raised:
        PRODUCTS.decode(cursor)
    assert (raised.value.status_code, raised.value.code) == (422, "invalid_cursor")


@pytest.mark.parametrize("cursor", ["t.1", "t.x.1", "t..1", "t.1.", "p.1.1", f"t.{10**17}.1"])
def test_foreign_time_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursorError):
        EXPORT.decode(cursor)
