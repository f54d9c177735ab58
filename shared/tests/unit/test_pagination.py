"""Keyset cursors: round trips, and anything not returned by the same listing is refused."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from mercato_shared.pagination import ID_KEY, TIME_ID_KEY, Cursor, InvalidCursorError

PRODUCTS = Cursor("p", ID_KEY)
EXPORT = Cursor("t", TIME_ID_KEY)


def raw(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("last_id", [1, 42, 2**63 - 1])
def test_id_cursors_round_trip_without_padding(last_id: int) -> None:
    cursor = PRODUCTS.encode(last_id)
    assert "=" not in cursor
    assert PRODUCTS.decode(cursor) == last_id


def test_time_cursors_round_trip() -> None:
    key = (datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC), 9)
    assert EXPORT.decode(EXPORT.encode(key)) == key


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "é",
        raw("p:"),
        raw("p:x"),
        raw("p:-1"),
        raw(f"p:{2**63}"),
        raw("o:1"),  # another listing's cursor
        raw("1"),
    ],
)
def test_foreign_id_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursorError) as raised:
        PRODUCTS.decode(cursor)
    assert (raised.value.status_code, raised.value.code) == (422, "invalid_cursor")


@pytest.mark.parametrize(
    "text",
    ["t:2026-01-01T00:00:00|x", "t:2026-01-01T00:00:00|1", "t:yesterday|1", "t:|1", "p:1"],
)
def test_foreign_time_cursors_are_refused(text: str) -> None:
    with pytest.raises(InvalidCursorError):
        EXPORT.decode(raw(text))
