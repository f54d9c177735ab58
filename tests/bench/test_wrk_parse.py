"""wrk's report is parsed into figures (no wrk run here)."""

from __future__ import annotations

import math

import pytest

from bench.wrk import parse

REPORT = """Running 10s test @ http://127.0.0.1:23002/products/7
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.10ms    3.20ms  80.00ms   90.00%
    Req/Sec     1.33k   100.00     1.50k    70.00%
  Latency Distribution
     50%   11.50ms
     75%   13.00ms
     90%   15.00ms
     99%  850.00us
  26540 requests in 10.00s, 9.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   2653.93
Transfer/sec:      0.90MB
"""


def test_parses_rate_percentiles_and_errors() -> None:
    result = parse(REPORT)
    assert result.requests_per_second == pytest.approx(2653.93)
    assert result.p50_ms == pytest.approx(11.5)
    assert result.p90_ms == pytest.approx(15.0)
    assert result.p99_ms == pytest.approx(0.85)
    assert result.requests == 26540
    assert result.errors == 7


def test_missing_percentiles_are_nan_and_no_rate_is_an_error() -> None:
    result = parse("Requests/sec: 10.5\n")
    assert math.isnan(result.p50_ms)
    with pytest.raises(ValueError, match="Requests/sec"):
        parse("connection refused")


def test_reads_the_counters_a_script_prints() -> None:
    result = parse(REPORT + 'MERCATO {"partial": 12, "complete": 3}\n')

    assert result.counters == {"partial": 12, "complete": 3}
    assert parse(REPORT).counters == {}
