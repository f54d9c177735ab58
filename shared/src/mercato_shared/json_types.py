"""Request values read the way the OpenAPI schema describes them.

The schema says `integer`, and JSON Schema counts every number with no fraction as one:
`30` and `30.0` are both integers, `"30"` and `true` are not. Pydantic's lax mode reads it
the other way round for strings and booleans (`"30"` and `true` pass as 30 and 1) and its
strict mode refuses `30.0`. Likewise a `format: date` or `date-time` is an RFC 3339 string,
while pydantic also takes Unix timestamps (`0`, `"0"`) for both. The validators below follow
the schema. Each goes after the field's constraints, which pydantic otherwise leaves out of
the schema's `minimum` and `maximum`:

    Days = Annotated[int, Field(ge=1, le=366), JSON_INTEGER]
    start: Annotated[date, JSON_DATE]

`RowId` is a row id as the API takes it: from 1 to 2**53 - 1. JSON numbers are IEEE
doubles to most clients (JavaScript, many JSON Schema validators), and an id above 2**53 - 1
cannot be read back exactly there: a bound of 2**63 - 1 compared as a double admits ids the
database cannot hold. A shop's bigint ids never come near 2**53.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Final

from pydantic import BeforeValidator, Field

MAX_ROW_ID: Final = 2**53 - 1

#: The pattern of every text field a service stores: Postgres text cannot hold NUL, so the
#: schema refuses it (a 422) where the database would fail the request (a 500).
NO_NUL: Final = r"^[^\x00]*$"

#: The pattern of a form or header value that is a name, key or token (a login, a client
#: id, a refresh token): no NUL and no other control character (C0 or DEL), which none of
#: them holds, so such a value is a 422 before it reaches a query.
NO_CONTROL: Final = r"^[^\x00-\x1f\x7f]*$"

# RFC 3339 full-date and date-time (the `T` and `Z` in either case, seconds' fraction optional).
_FULL_DATE: Final = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_DATE: Final = re.compile(_FULL_DATE)
_DATE_TIME: Final = re.compile(
    rf"{_FULL_DATE}[Tt][0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}(\.[0-9]+)?([Zz]|[+-][0-9]{{2}}:[0-9]{{2}})"
)


def _json_integer(value: object) -> object:
    if isinstance(value, bool | str | bytes):
        msg = "must be a JSON number without a fraction"
        raise ValueError(msg)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _rfc3339(form: re.Pattern[str], name: str, made: type) -> BeforeValidator:
    def check(value: object) -> object:
        if isinstance(value, made):  # built in Python, not read from JSON
            return value
        if not isinstance(value, str) or not form.fullmatch(value):
            msg = f"must be an RFC 3339 {name}"
            raise ValueError(msg)
        return value

    return BeforeValidator(check)


JSON_INTEGER: Final = BeforeValidator(_json_integer)
"""An integer as JSON Schema has it: 3 or 3.0, never "3" or true."""

JSON_DATE: Final = _rfc3339(_DATE, "full-date (2026-12-01)", date)
"""A date as `format: date` has it: `2026-12-01`, never a timestamp."""

JSON_DATE_TIME: Final = _rfc3339(
    _DATE_TIME, "date-time with an offset (2026-12-01T00:00:00Z)", datetime
)
"""A time as `format: date-time` has it: with its offset, never a timestamp."""


def in_utc(moment: datetime) -> datetime:
    """A JSON_DATE_TIME in UTC; one whose UTC time falls before year 1 or after 9999 (which
    `0001-01-01T00:00:00+01:00` and `9999-12-31T23:59:59-01:00` do) becomes that limit."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        limit = datetime.min if moment.year == datetime.min.year else datetime.max
        return limit.replace(tzinfo=UTC)


RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID), JSON_INTEGER]
"""A row id in a request: 1 to 2**53 - 1."""
