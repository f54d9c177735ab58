from __future__ import annotations

import pytest

from catalog.pagination import decode_cursor, encode_cursor
from mercato_shared.pagination import InvalidCursorError


@pytest.mark.parametrize("last_id", [1, 42, 2**63 - 1])
def test_cursor_round_trips(last_id: int) -> None:
    assert decode_cursor(encode_cursor(last_id)) == last_id


@pytest.mark.parametrize("cursor", ["", "!!!", "cDp4", "o.1", "t.1.1", "p.", "é"])
def test_foreign_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursorError):
        decode_cursor(cursor)
