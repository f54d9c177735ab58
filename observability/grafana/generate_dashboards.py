"""Generate Mercato's Grafana dashboards (observability/grafana/dashboards/*.json).

The JSON files are committed (Grafana provisions them as they are); this script is their
source, so panels stay consistent (datasource uids, exemplars, units, layout) and a change
is one reviewed diff. Standard library only.

    python observability/grafana/generate_dashboards.py          # rewrite the JSON files
    python observability/grafana/generate_dashboards.py --check  # exit 1 if they are stale

Label conventions (see observability/README.md): with Prometheus' OTLP ingestion the
resource attribute service.name is the `job` label; metric attributes keep their names
with dots turned into underscores (http.route -> http_route, pool.name -> pool_name).
In Loki, service.name is the `service_name` index label and trace_id is structured metadata.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

OUT_DIR = Path(__file__).resolve().parent / "dashboards"
SCHEMA_VERSION = 39

PROM = {"type": "prometheus", "uid": "prometheus"}
LOKI = {"type": "loki", "uid": "loki"}
TEMPO = {"type": "tempo", "uid": "tempo"}
GRAFANA = {"type": "grafana", "uid": "-- Grafana --"}

RATE = "$__rate_interval"
HTTP = "http_server_request_duration_seconds"
SVC = 'job=~"$service"'

Json = dict[str, Any]


class Layout:
    """Places panels left to right on Grafana's 24-column grid and numbers them."""

    def __init__(self) -> None:
        self.panels: list[Json] = []
        self._x = 0
        self._y = 0
        self._row_h = 0
        self._id = 0

    def add(self, panel: Json, w: int, h: int) -> None:
        if self._x + w > 24:
            self._newline()
        self._id += 1
        panel["id"] = self._id
        panel["gridPos"] = {"h": h, "w": w, "x": self._x, "y": self._y}
        self.panels.append(panel)
        self._x += w
        self._row_h = max(self._row_h, h)

    def row(self, title: str) -> None:
        self._newline()
        self._id += 1
        self.panels.append(
            {
                "id": self._id,
                "type": "row",
                "title": title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": self._y},
                "panels": [],
            }
        )
        self._y += 1

    def _newline(self) -> None:
        if self._x:
            self._y += self._row_h
        self._x = 0
        self._row_h = 0


# ----------------------------------------------------------------------------- targets


def prom(
    expr: str,
    legend: str = "__auto",
    ref: str = "A",
    *,
    exemplar: bool = False,
    instant: bool = False,
    fmt: str = "time_series",
) -> Json:
    return {
        "refId": ref,
        "datasource": PROM,
        "editorMode": "code",
        "expr": expr,
        "legendFormat": legend,
        "range": not instant,
        "instant": instant,
        "exemplar": exemplar,
        "format": fmt,
    }


def loki(expr: str, legend: str = "", ref: str = "A", *, instant: bool = False) -> Json:
    return {
        "refId": ref,
        "datasource": LOKI,
        "editorMode": "code",
        "expr": expr,
        "legendFormat": legend,
        "queryType": "instant" if instant else "range",
    }


# ------------------------------------------------------------------------------ panels


def timeseries(
    title: str,
    targets: list[Json],
    unit: str,
    *,
    ds: Json = PROM,
    description: str = "",
    stack: bool = False,
    overrides: list[Json] | None = None,
    minimum: float | None = 0,
) -> Json:
    defaults: Json = {
        "unit": unit,
        "color": {"mode": "palette-classic"},
        "custom": {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 25 if stack else 10,
            "showPoints": "never",
            "spanNulls": False,
            "stacking": {"mode": "normal" if stack else "none", "group": "A"},
        },
    }
    if minimum is not None:
        defaults["min"] = minimum
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": ds,
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": {
            "legend": {
                "showLegend": True,
                "displayMode": "table",
                "placement": "bottom",
                "calcs": ["mean", "max", "lastNotNull"],
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


def stat(
    title: str,
    target: Json,
    unit: str,
    *,
    ds: Json = PROM,
    description: str = "",
    thresholds: list[tuple[float | None, str]] | None = None,
    mappings: list[Json] | None = None,
) -> Json:
    steps = [{"color": c, "value": v} for v, c in (thresholds or [(None, "green")])]
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": ds,
        "targets": [target],
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "thresholds": {"mode": "absolute", "steps": steps},
                "mappings": mappings or [],
                "color": {"mode": "thresholds"},
            },
            "overrides": [],
        },
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "area",
            "textMode": "auto",
            "justifyMode": "auto",
            "orientation": "auto",
        },
    }


def bargauge(
    title: str, target: Json, unit: str, *, ds: Json = PROM, description: str = ""
) -> Json:
    return {
        "type": "bargauge",
        "title": title,
        "description": description,
        "datasource": ds,
        "targets": [target],
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "min": 0,
                "color": {"mode": "continuous-GrYlRd"},
                "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None}]},
            },
            "overrides": [],
        },
        "options": {
            "orientation": "horizontal",
            "displayMode": "gradient",
            "showUnfilled": True,
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        },
    }


def logs(title: str, expr: str, *, description: str = "") -> Json:
    return {
        "type": "logs",
        "title": title,
        "description": description,
        "datasource": LOKI,
        "targets": [loki(expr)],
        "options": {
            "showTime": True,
            "wrapLogMessage": True,
            "prettifyLogMessage": False,
            "enableLogDetails": True,
            "sortOrder": "Descending",
            "dedupStrategy": "none",
        },
    }


def heatmap(title: str, expr: str, *, description: str = "") -> Json:
    target = prom(expr, "{{le}}", exemplar=True, fmt="heatmap")
    return {
        "type": "heatmap",
        "title": title,
        "description": description,
        "datasource": PROM,
        "targets": [target],
        "fieldConfig": {"defaults": {}, "overrides": []},
        "options": {
            "calculate": False,
            "cellGap": 1,
            "color": {"mode": "scheme", "scheme": "Oranges", "steps": 64},
            "exemplars": {"color": "rgba(255,0,255,0.7)"},
            "yAxis": {"axisPlacement": "left", "unit": "s"},
            "tooltip": {"mode": "single", "yHistogram": True},
            "legend": {"show": True},
            "rowsFrame": {"layout": "auto"},
        },
    }


def service_map() -> Json:
    return {
        "type": "nodeGraph",
        "title": "Service graph",
        "description": (
            "Built by Grafana from the traces_service_graph_* series that the collector's "
            "servicegraph connector writes to Prometheus. Click a node for its traces."
        ),
        "datasource": TEMPO,
        "targets": [
            {"refId": "A", "datasource": TEMPO, "queryType": "serviceMap", "serviceMapQuery": ""}
        ],
        "options": {},
    }


def breaker_mappings() -> list[Json]:
    return [
        {
            "type": "value",
            "options": {
                "0": {"text": "closed", "color": "green", "index": 0},
                "1": {"text": "half-open", "color": "yellow", "index": 1},
                "2": {"text": "open", "color": "red", "index": 2},
            },
        }
    ]


# --------------------------------------------------------------------------- variables


def prom_var(name: str, label: str, metric: str, label_name: str) -> Json:
    query = f"label_values({metric}, {label_name})"
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": PROM,
        "query": {"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor"},
        "definition": query,
        "refresh": 2,
        "sort": 1,
        "multi": True,
        "includeAll": True,
        "allValue": ".+",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
        "hide": 0,
    }


def textbox(name: str, label: str) -> Json:
    return {
        "name": name,
        "label": label,
        "type": "textbox",
        "query": "",
        "current": {"selected": False, "text": "", "value": ""},
        "options": [],
        "hide": 0,
    }


# -------------------------------------------------------------------------- dashboards


def dashboard(
    uid: str, title: str, description: str, layout: Layout, variables: list[Json]
) -> Json:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["mercato"],
        "timezone": "browser",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": False,
        "graphTooltip": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "links": [
            {
                "title": "Mercato dashboards",
                "type": "dashboards",
                "tags": ["mercato"],
                "asDropdown": True,
                "includeVars": False,
                "keepTime": True,
                "targetBlank": False,
                "icon": "external link",
            }
        ],
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": GRAFANA,
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "templating": {"list": variables},
        "panels": layout.panels,
    }


def overview() -> Json:
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


GW = '{service_name="gateway"} | json | __error__=""'
# The access log's `uri` is nginx $request_uri (query string included): group on the path.
PATH = ' | label_format path=`{{ regexReplaceAll "[?].*" .uri "" }}`'


def gateway() -> Json:
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


def data() -> Json:
    pool = "db_client_connection_count"
    cache = "mercato_cache_requests_total"
    lay = Layout()
    lay.row("Database connection pools — db.client.connection.count")
    lay.add(
        timeseries(
            "Connections by state",
            [
                prom(
                    f"sum by (job, pool_name, state) ({pool}{{{SVC}}})",
                    "{{job}} {{pool_name}} {{state}}",
                )
            ],
            "short",
            stack=True,
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Pool utilisation (used / open)",
            [
                prom(
                    f'sum by (job, pool_name) ({pool}{{{SVC}, state="used"}})'
                    f" / sum by (job, pool_name) ({pool}{{{SVC}}})",
                    "{{job}} {{pool_name}}",
                )
            ],
            "percentunit",
            description="Near 100% for long means requests wait for a connection: size the pool.",
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Client call p95 (SQL, Redis, HTTP) from spans",
            [
                prom(
                    "histogram_quantile(0.95, sum by (job, span_name, le) "
                    "(rate(traces_spanmetrics_duration_seconds_bucket"
                    f'{{{SVC}, span_kind="SPAN_KIND_CLIENT"}}[{RATE}])))',
                    "{{job}} {{span_name}}",
                    exemplar=True,
                )
            ],
            "s",
            description="From the collector's spanmetrics connector; exemplars open the trace.",
        ),
        24,
        8,
    )
    lay.row("Cache — mercato.cache.requests")
    lay.add(
        stat(
            "Hit ratio",
            prom(
                f'sum(rate({cache}{{{SVC}, result="hit"}}[{RATE}]))'
                f" / sum(rate({cache}{{{SVC}}}[{RATE}]))"
            ),
            "percentunit",
            thresholds=[(None, "red"), (0.5, "orange"), (0.8, "green")],
        ),
        8,
        4,
    )
    lay.add(
        stat(
            "Requests / s",
            prom(f"sum(rate({cache}{{{SVC}}}[{RATE}]))"),
            "reqps",
        ),
        8,
        4,
    )
    lay.add(
        stat(
            "Error ratio",
            prom(
                f'(sum(rate({cache}{{{SVC}, result="error"}}[{RATE}])) or vector(0))'
                f" / sum(rate({cache}{{{SVC}}}[{RATE}]))"
            ),
            "percentunit",
            thresholds=[(None, "green"), (0.001, "orange"), (0.01, "red")],
            description=(
                "Errors mean Redis is failing: requests fall back to Postgres (slower, not broken)."
            ),
        ),
        8,
        4,
    )
    lay.add(
        timeseries(
            "Hit ratio by cache",
            [
                prom(
                    f'sum by (job, cache_name) (rate({cache}{{{SVC}, result="hit"}}[{RATE}]))'
                    f" / sum by (job, cache_name) (rate({cache}{{{SVC}}}[{RATE}]))",
                    "{{job}} {{cache_name}}",
                )
            ],
            "percentunit",
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Requests by result (hit / miss / error)",
            [prom(f"sum by (result) (rate({cache}{{{SVC}}}[{RATE}]))", "{{result}}")],
            "reqps",
            stack=True,
            overrides=[
                _color_override("hit", "green"),
                _color_override("miss", "orange"),
                _color_override("error", "red"),
            ],
        ),
        12,
        8,
    )
    return dashboard(
        "mercato-data",
        "Mercato / Data (Postgres pools, Redis cache)",
        "Connection pool occupancy per service and cache-aside effectiveness.",
        lay,
        [prom_var("service", "Service", pool, "job")],
    )


def _color_override(name: str, color: str) -> Json:
    return {
        "matcher": {"id": "byName", "options": name},
        "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": color}}],
    }


def celery() -> Json:
    dur = "mercato_celery_task_duration_seconds"
    fail = "mercato_celery_task_failures_total"
    depth = "mercato_celery_queue_depth"
    task = 'task=~"$task"'
    lay = Layout()
    lay.row("Queues and throughput")
    lay.add(
        stat("Queued messages", prom(f'sum(max by (queue) ({depth}{{queue=~"$queue"}}))'), "short"),
        6,
        4,
    )
    lay.add(stat("Tasks / s", prom(f"sum(rate({dur}_count{{{task}}}[{RATE}]))"), "ops"), 6, 4)
    lay.add(
        stat(
            "Failures (last 1h)",
            prom(f"sum(increase({fail}{{{task}}}[1h])) or vector(0)"),
            "short",
            thresholds=[(None, "green"), (1, "orange"), (10, "red")],
        ),
        6,
        4,
    )
    lay.add(
        stat(
            "p95 task duration",
            prom(f"histogram_quantile(0.95, sum by (le) (rate({dur}_bucket{{{task}}}[{RATE}])))"),
            "s",
        ),
        6,
        4,
    )
    lay.add(
        timeseries(
            "Queue depth by queue",
            [prom(f'max by (queue) ({depth}{{queue=~"$queue"}})', "{{queue}}")],
            "short",
            description="Messages waiting in the broker. Growing = workers cannot keep up.",
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Throughput by task and outcome",
            [
                prom(
                    f"sum by (task, outcome) (rate({dur}_count{{{task}}}[{RATE}]))",
                    "{{task}} {{outcome}}",
                )
            ],
            "ops",
            stack=True,
        ),
        12,
        8,
    )
    lay.row("Duration and failures")
    lay.add(
        timeseries(
            "Task duration p50 / p95 by task",
            [
                prom(
                    f"histogram_quantile({q}, sum by (task, le) "
                    f"(rate({dur}_bucket{{{task}}}[{RATE}])))",
                    f"{{{{task}}}} p{int(q * 100)}",
                    ref,
                    exemplar=True,
                )
                for q, ref in ((0.5, "A"), (0.95, "B"))
            ],
            "s",
            description=(
                "Exemplars link to the trace that started the task (context flows HTTP -> task)."
            ),
        ),
        12,
        8,
    )
    lay.add(
        heatmap(
            "Task duration distribution",
            f"sum by (le) (increase({dur}_bucket{{{task}}}[{RATE}]))",
            description="Histogram buckets over time; exemplars are drawn on top.",
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Failures by task",
            [prom(f"sum by (task) (rate({fail}{{{task}}}[{RATE}]))", "{{task}}")],
            "ops",
            description=(
                "mercato.celery.task.failures: tasks that failed for good (retries exhausted)."
            ),
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Failure ratio by task",
            [
                prom(
                    f"sum by (task) (rate({fail}{{{task}}}[{RATE}]))"
                    f" / sum by (task) (rate({dur}_count{{{task}}}[{RATE}]))",
                    "{{task}}",
                )
            ],
            "percentunit",
        ),
        12,
        8,
    )
    lay.row("Worker logs")
    lay.add(
        logs("Worker and beat logs", '{service_name=~"worker|beat"} |~ "(?i)$search"'),
        24,
        10,
    )
    return dashboard(
        "mercato-celery",
        "Mercato / Celery",
        "Queue depth, task throughput, duration and failures of the Celery workers.",
        lay,
        [
            prom_var("queue", "Queue", depth, "queue"),
            prom_var("task", "Task", f"{dur}_count", "task"),
            textbox("search", "Log search"),
        ],
    )


def partners() -> Json:
    dur = "mercato_partner_request_duration_seconds"
    cb = "mercato_circuit_breaker_state"
    sel = 'partner=~"$partner"'
    lay = Layout()
    lay.row("Circuit breakers — mercato.circuit_breaker.state (0 closed, 1 half-open, 2 open)")
    lay.add(
        stat(
            "Breakers open now",
            prom(f"count(max by (partner) ({cb}{{{sel}}}) == 2) or vector(0)"),
            "none",
            thresholds=[(None, "green"), (1, "red")],
        ),
        6,
        6,
    )
    state = stat(
        "Breaker state",
        prom(f"max by (partner) ({cb}{{{sel}}})", "{{partner}}"),
        "none",
        mappings=breaker_mappings(),
        thresholds=[(None, "green"), (1, "yellow"), (2, "red")],
    )
    state["options"]["graphMode"] = "none"
    state["options"]["colorMode"] = "background"
    lay.add(state, 18, 6)
    timeline = {
        "type": "state-timeline",
        "title": "Breaker state over time",
        "description": (
            "Open = calls short-circuit (outcome=circuit_open) and quotes come back partial."
        ),
        "datasource": PROM,
        "targets": [prom(f"max by (partner) ({cb}{{{sel}}})", "{{partner}}")],
        "fieldConfig": {
            "defaults": {
                "mappings": breaker_mappings(),
                "thresholds": {
                    "mode": "absolute",
                    "steps": [
                        {"color": "green", "value": None},
                        {"color": "yellow", "value": 1},
                        {"color": "red", "value": 2},
                    ],
                },
                "color": {"mode": "thresholds"},
            },
            "overrides": [],
        },
        "options": {
            "showValue": "auto",
            "mergeValues": True,
            "rowHeight": 0.9,
            "alignValue": "left",
            "legend": {"showLegend": True, "displayMode": "list", "placement": "bottom"},
            "tooltip": {"mode": "single", "sort": "none"},
        },
    }
    lay.add(timeline, 24, 8)
    lay.row("Calls — mercato.partner.request.duration")
    lay.add(
        timeseries(
            "Calls by partner and outcome",
            [
                prom(
                    f"sum by (partner, outcome) (rate({dur}_count{{{sel}}}[{RATE}]))",
                    "{{partner}} {{outcome}}",
                )
            ],
            "reqps",
            stack=True,
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Non-ok ratio by partner",
            [
                prom(
                    f'sum by (partner) (rate({dur}_count{{{sel}, outcome!="ok"}}[{RATE}]))'
                    f" / sum by (partner) (rate({dur}_count{{{sel}}}[{RATE}]))",
                    "{{partner}}",
                )
            ],
            "percentunit",
            description="timeout + error + circuit_open, over all calls.",
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "p95 latency by partner",
            [
                prom(
                    "histogram_quantile(0.95, sum by (partner, le) "
                    f'(rate({dur}_bucket{{{sel}, outcome!="circuit_open"}}[{RATE}])))',
                    "{{partner}}",
                    exemplar=True,
                )
            ],
            "s",
            description=(
                "Real calls only (short-circuited ones take ~0 s and would hide slowness). "
                "Exemplars open the checkout trace that made the call."
            ),
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "p95 latency by partner and outcome",
            [
                prom(
                    "histogram_quantile(0.95, sum by (partner, outcome, le) "
                    f"(rate({dur}_bucket{{{sel}}}[{RATE}])))",
                    "{{partner}} {{outcome}}",
                    exemplar=True,
                )
            ],
            "s",
        ),
        12,
        8,
    )
    return dashboard(
        "mercato-partners",
        "Mercato / Partners",
        "Calls from checkout to the simulated partners: latency, outcomes, circuit breakers.",
        lay,
        [prom_var("partner", "Partner", f"{dur}_count", "partner")],
    )


DASHBOARDS = {
    "mercato-overview.json": overview,
    "mercato-gateway.json": gateway,
    "mercato-data.json": data,
    "mercato-celery.json": celery,
    "mercato-partners.json": partners,
}


def render(build: Any) -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a JSON file is stale")
    args = parser.parse_args(argv)
    stale = []
    for name, build in DASHBOARDS.items():
        path = OUT_DIR / name
        text = render(build)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            OUT_DIR.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print("stale dashboards (run generate_dashboards.py):", ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
