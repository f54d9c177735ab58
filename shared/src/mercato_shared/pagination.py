"""Opaque keyset cursors: the last key of a page, tagged and base64url encoded.

A cursor is `base64url("<tag>:<key>")` without padding. The tag names the listing (catalog's
products `p`, orders' own `o`, the orders export `t`), so a cursor is refused by any listing
but the one that returned it; the key is the sort key of the page's last row, written by a
`Key` (a row id, or a creation time and a row id). Anything else is 422 `invalid_cursor`.

    PRODUCTS = Cursor("p", ID_KEY)
    after_id = PRODUCTS.decode(cursor)      # int, or InvalidCursorError
    next_cursor = PRODUCTS.encode(rows[-1].id)
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Generic, TypeVar

from mercato_shared.errors import UnprocessableError

K = TypeVar("K")

_MAX_ID: Final = 2**63 - 1  # Postgres bigint


class InvalidCursorError(UnprocessableError):
    code = "invalid_cursor"

    def __init__(self) -> None:
        super().__init__("The cursor is not one this API returned.")


@dataclass(frozen=True, slots=True)
class Key(Generic[K]):
    """How one kind of sort key is written into a cursor; `load` raises ValueError."""

    dump: Callable[[K], str]
    load: Callable[[str], K]


def _load_id(text: str) -> int:
    if not text.isdigit() or int(text) > _MAX_ID:
        msg = f"not a row id: {text!r}"
        raise ValueError(msg)
    return int(text)


def _dump_time_id(key: tuple[datetime, int]) -> str:
    created_at, row_id = key
    return f"{created_at.isoformat()}|{row_id}"


def _load_time_id(text: str) -> tuple[datetime, int]:
    stamp, _, row_id = text.partition("|")
    created_at = datetime.fromisoformat(stamp)
    if created_at.tzinfo is None:
        msg = f"not an aware time: {stamp!r}"
        raise ValueError(msg)
    return created_at, _load_id(row_id)


ID_KEY: Final[Key[int]] = Key(str, _load_id)
"""A row id (bigint): pages ordered by id."""

TIME_ID_KEY: Final[Key[tuple[datetime, int]]] = Key(_dump_time_id, _load_time_id)
"""A time zone aware creation time and a row id: pages ordered by (created_at, id)."""


@dataclass(frozen=True, slots=True)
class Cursor(Generic[K]):
    """The cursors of one listing: `tag` names it, `key` writes its sort key."""

    tag: str
    key: Key[K]

    def encode(self, key: K) -> str:
        text = f"{self.tag}:{self.key.dump(key)}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def decode(self, cursor: str) -> K:
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        except (binascii.Error, UnicodeError, ValueError) as exc:
            raise InvalidCursorError from exc
        tag, colon, key = text.partition(":")
        if tag != self.tag or not colon:
            raise InvalidCursorError
        try:
            return self.key.load(key)
        except ValueError as exc:
            raise InvalidCursorError from exc
