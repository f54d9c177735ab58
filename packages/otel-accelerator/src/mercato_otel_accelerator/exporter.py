"""The OTLP/HTTP span exporter with Mercato's span encoder (`otlp_spans`).

Everything but the encoding is the SDK's `OTLPSpanExporter`: endpoint, headers, timeout,
compression and TLS from the standard `OTEL_EXPORTER_OTLP_*` variables, the retrying
HTTP client, shutdown. `export` mirrors the stock one (opentelemetry-exporter-otlp-proto-http
1.45, pinned by the lockfile; it uses the exporter's `_client`, `_shutdown` and
`_max_request_size`) with the serialised request built by `otlp_spans.encode_spans`, and
without the exporter's optional self-metrics (`OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED`).
The e2e telemetry tests decode what it sends with the official protobuf messages.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

from mercato_otel_accelerator.otlp_spans import encode_spans

logger = logging.getLogger(__name__)


class LeanOTLPSpanExporter(OTLPSpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            logger.warning("span exporter already shut down, batch dropped")
            return SpanExportResult.FAILURE
        try:
            payload = encode_spans(spans)
        except Exception:
            logger.exception("span batch could not be encoded, %d spans dropped", len(spans))
            return SpanExportResult.FAILURE
        if 0 < self._max_request_size < len(payload):
            logger.warning(
                "span batch of %d bytes over the request size limit, dropped", len(payload)
            )
            return SpanExportResult.FAILURE
        result = self._client.export(payload)
        return SpanExportResult.SUCCESS if result.success else SpanExportResult.FAILURE
