"""JSON-lines logging with the request id, trace id and span id on every record.

Stdout gets one JSON object per record. When telemetry is on, `init_telemetry` adds the
OpenTelemetry handler to the root logger as well: the same records go over OTLP with the
active trace and span ids (Loki keeps them as structured metadata), so a line on stdout and
its copy in Loki carry the same `trace_id`.
"""

from __future__ import annotations

import logging
import sys

from opentelemetry.instrumentation.logging.handler import LoggingHandler
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from mercato_shared.context import current_span_id, current_trace_id, request_id_var


class ContextFilter(logging.Filter):
    """Stamp each record with the service name and the ids of the request it belongs to."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.request_id = request_id_var.get()
        record.trace_id = current_trace_id()
        record.span_id = current_span_id()
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every log record to stdout as one JSON object per line.

    Uvicorn's access log is switched off: the gateway's JSON access log already records
    every request, and logging it again in every service costs throughput for nothing.
    """
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(ContextFilter(service))
    handler.setFormatter(
        JsonFormatter(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],
            timestamp="time",
        )
    )
    root = logging.getLogger()
    # Keep the OTLP handler `init_telemetry` may have installed; replace everything else.
    root.handlers[:] = [handler, *(h for h in root.handlers if isinstance(h, LoggingHandler))]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
