"""Mercato / Gateway: the gateway's JSON access log in Loki."""

from __future__ import annotations

from mercato_dashboards.panels import (
    LOKI,
    Json,
    Layout,
    bargauge,
    dashboard,
    logs,
    loki,
    stat,
    timeseries,
)

GW = '{service_name="gateway"} | json | __error__=""'
# The access log's `uri` is nginx $request_uri (query string included): group on the path.
PATH = ' | label_format path=`{{ regexReplaceAll "[?].*" .uri "" }}`'


def build() -> Json:
    lay = Layout()
    lay.row("Traffic — nginx JSON access log (Loki, service_name=gateway)")
    lay.add(
        stat("Requests / s", loki(f"sum(rate({GW} [$__auto]))"), "reqps", ds=LOKI),
        6,
        4,
    )
    lay.add(
        stat(
            "5xx / s",
            loki(f"sum(rate({GW} | status >= 500 [$__auto])) or vector(0)"),
            "reqps",
            ds=LOKI,
            thresholds=[(None, "green"), (0.01, "red")],
        ),
        6,
        4,
    )
    lay.add(
        stat(
            "4xx / s",
            loki(f"sum(rate({GW} | status >= 400 and status < 500 [$__auto])) or vector(0)"),
            "reqps",
            ds=LOKI,
            thresholds=[(None, "green"), (1, "orange")],
        ),
        6,
        4,
    )
    lay.add(
        stat(
            "p95 request_time",
            loki(
                f'quantile_over_time(0.95, {GW} | unwrap request_time | __error__="" [$__auto])'
                " by (service_name)"
            ),
            "s",
            ds=LOKI,
            thresholds=[(None, "green"), (0.25, "orange"), (1, "red")],
        ),
        6,
        4,
    )
    lay.add(
        timeseries(
            "Requests by status",
            [loki(f"sum by (status) (rate({GW} [$__auto]))", "{{status}}")],
            "reqps",
            ds=LOKI,
            stack=True,
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "request_time percentiles",
            [
                loki(
                    f'quantile_over_time({q}, {GW} | unwrap request_time | __error__="" [$__auto])'
                    " by (service_name)",
                    f"p{int(q * 100)}",
                    ref,
                )
                for q, ref in ((0.5, "A"), (0.95, "B"), (0.99, "C"))
            ],
            "s",
            ds=LOKI,
            description=(
                "nginx $request_time (seconds, whole request incl. upstream) via LogQL unwrap."
            ),
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "4xx and 5xx",
            [
                loki(
                    f"sum(rate({GW} | status >= 400 and status < 500 [$__auto]))",
                    "4xx",
                    "A",
                ),
                loki(f"sum(rate({GW} | status >= 500 [$__auto]))", "5xx", "B"),
            ],
            "reqps",
            ds=LOKI,
        ),
        12,
        8,
    )
    lay.add(
        bargauge(
            "Top paths (requests in range)",
            loki(
                f"topk(10, sum by (path) (count_over_time({GW}{PATH} [$__range])))",
                "{{path}}",
                instant=True,
            ),
            "short",
            ds=LOKI,
        ),
        12,
        8,
    )
    lay.add(
        bargauge(
            "Slowest paths (p95 request_time in range)",
            loki(
                "topk(10, quantile_over_time(0.95, "
                f'{GW}{PATH} | unwrap request_time | __error__="" [$__range]) by (path))',
                "{{path}}",
                instant=True,
            ),
            "s",
            ds=LOKI,
        ),
        12,
        8,
    )
    lay.add(
        bargauge(
            "Paths answering 5xx (in range)",
            loki(
                "topk(10, sum by (path, status) "
                f"(count_over_time({GW}{PATH} | status >= 500 [$__range])))",
                "{{status}} {{path}}",
                instant=True,
            ),
            "short",
            ds=LOKI,
        ),
        12,
        8,
    )
    lay.row("Access log")
    lay.add(
        logs(
            "Errors (status >= 400)",
            f"{GW} | status >= 400",
            description="Expand a line: trace_id links to the trace the gateway started or joined.",
        ),
        24,
        10,
    )
    lay.add(logs("All requests", '{service_name="gateway"}'), 24, 10)
    return dashboard(
        "mercato-gateway",
        "Mercato / Gateway",
        "The nginx gateway, from its JSON access log in Loki (fields: status, request_time, "
        "uri, method, request_id, upstream_status, trace_id).",
        lay,
        [],
    )
