"""An outbound call through the process's HTTP session is a CLIENT span with the stable HTTP
attribute names, and the callee receives the trace (`traceparent` naming that span).

`tests/telemetry/client_spans.py` installs telemetry as a service does, in a fresh
interpreter (the providers and the instrumentor are process-wide), and makes one call.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.telemetry.client_spans import probe


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return probe()


def test_one_client_span_with_the_stable_attribute_names(report: dict[str, Any]) -> None:
    (span,) = report["client_spans"]
    assert span["name"] == "GET"
    attributes = span["attributes"]
    assert attributes["http.request.method"] == "GET"
    assert attributes["http.response.status_code"] == 200
    assert attributes["url.full"].endswith("/items/7")
    assert attributes["server.address"] == "127.0.0.1"
    assert "http.method" not in attributes  # the old names are not sent as well


def test_the_callee_joins_the_callers_trace(report: dict[str, Any]) -> None:
    (span,) = report["client_spans"]
    assert span["trace_id"] == report["trace_id"]
    assert span["parent_span_id"] == report["parent_span_id"]
    (traceparent,) = report["traceparents"]
    version, trace_id, parent_id, flags = traceparent.split("-")
    assert (version, trace_id, parent_id) == ("00", report["trace_id"], span["span_id"])
    assert int(flags, 16) & 1  # sampled
