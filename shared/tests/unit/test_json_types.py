"""Request values are read as the schema describes them: integers, dates and times in JSON."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated

import pytest
from pydantic import AwareDatetime, Field, TypeAdapter, ValidationError

from mercato_shared.json_types import (
    JSON_DATE,
    JSON_DATE_TIME,
    JSON_INTEGER,
    MAX_ROW_ID,
    RowId,
    in_utc,
)

DAYS = TypeAdapter(Annotated[int, Field(ge=1, le=366), JSON_INTEGER])
DAY = TypeAdapter(Annotated[date, JSON_DATE])
MOMENT = TypeAdapter(Annotated[AwareDatetime, JSON_DATE_TIME])


def test_the_constraints_reach_the_schema() -> None:
    assert DAYS.json_schema() == {"type": "integer", "minimum": 1, "maximum": 366}
    assert TypeAdapter(RowId).json_schema()["maximum"] == MAX_ROW_ID == 2**53 - 1
    assert DAY.json_schema() == {"type": "string", "format": "date"}
    assert MOMENT.json_schema() == {"type": "string", "format": "date-time"}


@pytest.mark.parametrize(("raw", "value"), [("30", 30), ("30.0", 30), ("366", 366)])
def test_numbers_without_a_fraction_are_integers(raw: str, value: int) -> None:
    assert DAYS.validate_json(raw) == value


@pytest.mark.parametrize("raw", ['"30"', "true", "30.5", "0", "367", "null"])
def test_anything_else_is_refused(raw: str) -> None:
    with pytest.raises(ValidationError):
        DAYS.validate_json(raw)


def test_dates_and_times_are_rfc_3339_strings() -> None:
    assert DAY.validate_json('"2026-12-01"') == date(2026, 12, 1)
    assert MOMENT.validate_python("2026-12-01T10:00:00.5Z") == datetime(
        2026, 12, 1, 10, 0, 0, 500000, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "raw", ["0", '"0"', '"2026-12-01T00:00:00Z"', '"2026-02-30"', '"1.12.2026"']
)
def test_a_date_is_never_a_timestamp(raw: str) -> None:
    with pytest.raises(ValidationError):
        DAY.validate_json(raw)


@pytest.mark.parametrize("raw", ["0", "1764547200", "2026-12-01", "2026-12-01T00:00:00"])
def test_a_time_has_its_offset_and_is_never_a_timestamp(raw: str) -> None:
    with pytest.raises(ValidationError):
        MOMENT.validate_python(raw)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (
            datetime(2026, 12, 1, 1, tzinfo=timezone(timedelta(hours=1))),
            datetime(2026, 12, 1, tzinfo=UTC),
        ),
        (
            datetime.min.replace(tzinfo=timezone(timedelta(hours=1))),
            datetime.min.replace(tzinfo=UTC),
        ),
        (
            datetime.max.replace(tzinfo=timezone(timedelta(hours=-1))),
            datetime.max.replace(tzinfo=UTC),
        ),
    ],
)
def test_a_time_in_utc_stops_at_the_years_json_allows(moment: datetime, expected: datetime) -> None:
    assert in_utc(moment) == expected
