"""Keyset cursors: the last key of a page, written as `<tag>.<key>` in decimal digits.

The tag names the listing (catalog's products `p`, orders' own `o`, the orders export `t`),
so one listing's cursor does not fit another's; the key is the sort key of the page's last
row, written by a `Key`: a row id (`p.1042`), or a creation time in microseconds since the
Unix epoch and a row id (`t.1767225600000000.77`).

Clients treat a cursor as opaque: they pass back the `next_cursor` they were given. The API
still publishes its exact form, as the query parameter's `pattern` (`Cursor.pattern`), and
every string of that form is a position in the listing, so a well-formed cursor is never
refused: it pages on from that key, to an empty page if nothing follows. Anything else is
refused by validation (422 `validation_error`) before the route runs. That way the OpenAPI
schema says exactly what the server accepts (schemathesis holds it to that), which no
encoded (base64) cursor allows.

    PRODUCTS = Cursor("p", ID_KEY)
    cursor: Annotated[str | None, Query(pattern=PRODUCTS.pattern)] = None
    after_id = PRODUCTS.decode(cursor)      # int
    next_cursor = PRODUCTS.encode(rows[-1].id)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, Generic, TypeVar

from mercato_shared.errors import UnprocessableError

K = TypeVar("K")

_MAX_ID: Final = 2**63 - 1  # Postgres bigint: no row has a larger id
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


class InvalidCursorError(UnprocessableError):
    """A cursor that does not have its listing's form (validation refuses it first)."""

    code = "invalid_cursor"

    def __init__(self) -> None:
        super().__init__("The cursor is not one this API returned.")


@dataclass(frozen=True, slots=True)
class Key(Generic[K]):
    """How one kind of sort key is written into a cursor.

    `pattern` is the regular expression of what `dump` writes; `load` reads every string
    that matches it.
    """

    dump: Callable[[K], str]
    load: Callable[[str], K]
    pattern: str


def _load_id(text: str) -> int:
    # Past the largest id there is no row: the same position as the largest id.
    return min(int(text), _MAX_ID)


def _dump_time_id(key: tuple[datetime, int]) -> str:
    created_at, row_id = key
    return f"{(created_at - _EPOCH) // _MICROSECOND}.{row_id}"


def _load_time_id(text: str) -> tuple[datetime, int]:
    micros, _, row_id = text.partition(".")
    return _EPOCH + int(micros) * _MICROSECOND, _load_id(row_id)


_ID_PATTERN: Final = "[0-9]{1,19}"

ID_KEY: Final[Key[int]] = Key(str, _load_id, _ID_PATTERN)
"""A row id (bigint): pages ordered by id."""

TIME_ID_KEY: Final[Key[tuple[datetime, int]]] = Key(
    # 17 digits of microseconds reach the year 5138, within what datetime can hold.
    _dump_time_id,
    _load_time_id,
    rf"[0-9]{{1,17}}\.{_ID_PATTERN}",
)
"""A creation time at or after 1970 and a row id: pages ordered by (created_at, id)."""


@dataclass(frozen=True, slots=True)
class Cursor(Generic[K]):
    """The cursors of one listing: `tag` names it, `key` writes its sort key."""

    tag: str
    key: Key[K]
    _form: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_form", re.compile(self.pattern))

    @property
    def pattern(self) -> str:
        """The exact form of this listing's cursors, for the query parameter's schema."""
        return rf"^{re.escape(self.tag)}\.{self.key.pattern}$"

    def encode(self, key: K) -> str:
        return f"{self.tag}.{self.key.dump(key)}"

    def decode(self, cursor: str) -> K:
        if not self._form.fullmatch(cursor):
            raise InvalidCursorError
        return self.key.load(cursor.removeprefix(f"{self.tag}."))
