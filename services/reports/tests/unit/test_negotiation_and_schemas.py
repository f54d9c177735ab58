"""Accept negotiation and request validation, without I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from reports.negotiation import negotiate
from reports.schemas import ReportRequest


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "json"),
        ("", "json"),
        ("*/*", "json"),
        ("application/json", "json"),
        ("text/csv", "csv"),
        ("text/*", "csv"),
        ("text/csv;q=0.9, application/json;q=0.5", "csv"),
        ("application/json;q=0.1, text/csv;q=0.2", "csv"),
        ("text/csv, application/json", "json"),
        ("text/csv;q=0, */*", "json"),
        ("application/xml", None),
        ("text/html", None),
        ("application/json;q=bogus", None),
    ],
)
def test_negotiate(accept: str | None, expected: str | None) -> None:
    assert negotiate(accept) == expected


def test_a_valid_request() -> None:
    request = ReportRequest.model_validate({"kind": "sales", "start": "2026-01-01", "days": 31})
    assert (request.start, request.end) == (date(2026, 1, 1), date(2026, 2, 1))


def test_a_period_that_would_end_past_the_calendar_ends_with_it() -> None:
    request = ReportRequest.model_validate({"kind": "sales", "start": "9999-12-30", "days": 5})
    assert request.end == date.max


def test_the_schema_examples_are_valid_requests() -> None:
    examples = ReportRequest.model_json_schema()["examples"]
    assert [ReportRequest.model_validate(example).kind for example in examples] == [
        "purchases",
        "sales",
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "weather", "start": "2026-01-01", "days": 31},
        {"kind": "sales", "start": "2026-02-01", "days": 0},
        {"kind": "sales", "start": "2026-02-01", "days": -1},
        {"kind": "sales", "start": "2024-01-01", "days": 367},
        {"kind": "sales", "start": "2026-01-01", "days": "31"},
        {"kind": "sales", "start": "2026-01-01", "days": True},
        {"kind": "sales", "start": "not a date", "days": 1},
        {"kind": "sales", "start": "2026-01-01"},
        {"kind": "sales", "start": "2026-01-01", "end": "2026-02-01"},
        {"kind": "sales", "start": "2026-01-01", "days": 31, "extra": 1},
    ],
)
def test_bad_requests_are_rejected(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ReportRequest.model_validate(body)


def test_a_period_may_reach_past_today() -> None:
    today = datetime.now(UTC).date()
    request = ReportRequest(kind="purchases", start=today - timedelta(days=365), days=366)
    assert request.end == today + timedelta(days=1)
    assert ReportRequest(kind="purchases", start=today, days=30).end == today + timedelta(days=30)
