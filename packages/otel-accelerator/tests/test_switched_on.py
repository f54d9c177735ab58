"""With `MERCATO_OTEL_ACCELERATOR=true`, a process installs the accelerator's parts.

The same probe as shared's default-path test (`shared/tests/unit/probes/installed_parts.py`:
telemetry installed as a service does, one request, the types of what ran), with the switch
on, in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mercato_shared.telemetry.hooks import ACCELERATOR_VARIABLE

ROOT = Path(__file__).resolve().parents[3]
PROBE = ROOT / "shared" / "tests" / "unit" / "probes" / "installed_parts.py"


def test_a_process_with_the_switch_on_runs_the_accelerator() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    env[ACCELERATOR_VARIABLE] = "true"
    result = subprocess.run(
        [sys.executable, str(PROBE)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert (report["active"], report["status"]) == (True, 200)
    assert report["accelerator_imported"] is True
    assert report["tracer"] == "mercato_otel_accelerator.lean_tracer.LeanTracer"
    assert report["current_span"] == "mercato_otel_accelerator.lean_span.LeanSpan"
    assert report["finished_spans"] == ["mercato_otel_accelerator.lean_span.LeanSpan"]
    assert report["span_processor"] == "opentelemetry.sdk.trace.export.BatchSpanProcessor"
    assert report["span_exporter"] == "mercato_otel_accelerator.exporter.LeanOTLPSpanExporter"
    assert report["metric_exporter"] == (
        "mercato_otel_accelerator.histogram.HistogramMetricExporter"
    )
    assert report["durations"] == "mercato_otel_accelerator.histogram.DurationHistogram"
