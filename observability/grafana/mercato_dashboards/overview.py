"""Mercato / Overview: RED metrics per service, the service graph, the services' logs."""

from __future__ import annotations

from mercato_dashboards.panels import (
    HTTP,
    RATE,
    SVC,
    Json,
    Layout,
    bargauge,
    dashboard,
    logs,
    prom,
    prom_var,
    service_map,
    stat,
    textbox,
    timeseries,
)


def build() -> Json:
    rate_all = f"sum(rate({HTTP}_count{{{SVC}}}[{RATE}]))"
    err_all = f'sum(rate({HTTP}_count{{{SVC}, http_response_status_code=~"5.."}}[{RATE}]))'
    lay = Layout()
    lay.row("Golden signals (RED) — http.server.request.duration")
    lay.add(stat("Requests / s", prom(rate_all), "reqps"), 6, 4)
    lay.add(
        stat(
            "5xx ratio",
            prom(f"({err_all} or vector(0)) / {rate_all}"),
            "percentunit",
            thresholds=[(None, "green"), (0.01, "orange"), (0.05, "red")],
        ),
        6,
        4,
    )
    lay.add(
        stat(
            "p95 latency",
            prom(f"histogram_quantile(0.95, sum by (le) (rate({HTTP}_bucket{{{SVC}}}[{RATE}])))"),
            "s",
            thresholds=[(None, "green"), (0.25, "orange"), (1, "red")],
        ),
        6,
        4,
    )
    lay.add(
        stat(
            "Services reporting",
            prom(f"count(count by (job) ({HTTP}_count{{{SVC}}}))"),
            "none",
            description="Distinct service.name values (job label) exporting HTTP server metrics.",
        ),
        6,
        4,
    )
    lay.add(
        timeseries(
            "Request rate by service",
            [prom(f"sum by (job) (rate({HTTP}_count{{{SVC}}}[{RATE}]))", "{{job}}")],
            "reqps",
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "5xx ratio by service",
            [
                prom(
                    "sum by (job) (rate("
                    f'{HTTP}_count{{{SVC}, http_response_status_code=~"5.."}}[{RATE}]))'
                    f" / sum by (job) (rate({HTTP}_count{{{SVC}}}[{RATE}]))",
                    "{{job}}",
                )
            ],
            "percentunit",
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "p95 latency by service",
            [
                prom(
                    "histogram_quantile(0.95, sum by (job, le) "
                    f"(rate({HTTP}_bucket{{{SVC}}}[{RATE}])))",
                    "{{job}}",
                    exemplar=True,
                )
            ],
            "s",
            description="Exemplar dots are sampled requests: click one to open its trace in Tempo.",
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Responses by status code",
            [
                prom(
                    f"sum by (http_response_status_code) (rate({HTTP}_count{{{SVC}}}[{RATE}]))",
                    "{{http_response_status_code}}",
                )
            ],
            "reqps",
            stack=True,
        ),
        12,
        8,
    )
    lay.add(
        bargauge(
            "Slowest routes (p95, last 5m)",
            prom(
                "topk(10, histogram_quantile(0.95, sum by (job, http_route, le) "
                f"(rate({HTTP}_bucket{{{SVC}}}[5m]))))",
                "{{job}} {{http_route}}",
                instant=True,
            ),
            "s",
        ),
        12,
        8,
    )
    lay.add(
        bargauge(
            "Busiest routes (req/s, last 5m)",
            prom(
                f"topk(10, sum by (job, http_route) (rate({HTTP}_count{{{SVC}}}[5m])))",
                "{{job}} {{http_route}}",
                instant=True,
            ),
            "reqps",
        ),
        12,
        8,
    )
    lay.row("Service graph (traces)")
    lay.add(service_map(), 24, 12)
    lay.add(
        timeseries(
            "Calls between services (client → server)",
            [
                prom(
                    f"sum by (client, server) (rate(traces_service_graph_request_total[{RATE}]))",
                    "{{client}} → {{server}}",
                )
            ],
            "reqps",
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Failed calls between services",
            [
                prom(
                    "sum by (client, server) "
                    f"(rate(traces_service_graph_request_failed_total[{RATE}]))",
                    "{{client}} → {{server}}",
                )
            ],
            "reqps",
        ),
        12,
        8,
    )
    lay.row("Logs")
    lay.add(
        logs(
            "Service logs",
            '{service_name=~"$service"} |~ "(?i)$search"',
            description=(
                "OTLP logs from the services. Expand a line: its trace_id (structured metadata) "
                "links to the trace in Tempo."
            ),
        ),
        24,
        12,
    )
    return dashboard(
        "mercato-overview",
        "Mercato / Overview",
        "RED metrics per service, the service graph and service logs. Start here.",
        lay,
        [prom_var("service", "Service", f"{HTTP}_count", "job"), textbox("search", "Log search")],
    )
