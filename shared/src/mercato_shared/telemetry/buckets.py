"""Histogram bucket boundaries shared by the duration instruments."""

from __future__ import annotations

from typing import Final

# The semantic conventions' advisory boundaries for http.server.request.duration (seconds).
DURATION_BUCKETS: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)
