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
    request = ReportRequest.model_validate(
        {"kind": "sales", "start": "2026-01-01", "end": "2026-02-01"}
    )
    assert (request.start, request.end) == (date(2026, 1, 1), date(2026, 2, 1))


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "weather", "start": "2026-01-01", "end": "2026-02-01"},
        {"kind": "sales", "start": "2026-02-01", "end": "2026-01-01"},
        {"kind": "sales", "start": "2026-01-01", "end": "2026-01-01"},
        {"kind": "sales", "start": "2024-01-01", "end": "2026-01-01"},
        {"kind": "sales", "start": "2026-01-01", "end": "2999-01-01"},
        {"kind": "sales", "start": "not a date", "end": "2026-01-01"},
        {"kind": "sales", "start": "2026-01-01"},
        {"kind": "sales", "start": "2026-01-01", "end": "2026-02-01", "extra": 1},
    ],
)
def test_bad_requests_are_rejected(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ReportRequest.model_validate(body)


def test_a_period_ending_tomorrow_covers_today() -> None:
    today = datetime.now(UTC).date()
    request = ReportRequest(
        kind="purchases", start=today - timedelta(days=365), end=today + timedelta(days=1)
    )
    assert (request.end - request.start).days == 366
    with pytest.raises(ValidationError):
        ReportRequest(kind="purchases", start=today, end=today + timedelta(days=2))
