"""The panel library of Mercato's dashboards: datasources, targets, panels, variables, layout.

Each dashboard module (overview, gateway, data, celery, partners) builds its JSON from these
helpers, so every panel has the same datasource uids, units, legends and exemplar settings.

Label conventions (see observability/README.md): with Prometheus' OTLP ingestion the
resource attribute service.name is the `job` label; metric attributes keep their names
with dots turned into underscores (http.route -> http_route, pool.name -> pool_name).
In Loki, service.name is the `service_name` index label and trace_id is structured metadata.
"""

from __future__ import annotations

from typing import Any

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


def panel(kind: str, title: str, description: str, ds: Json, targets: list[Json]) -> Json:
    """The keys every panel starts with, in the order Grafana writes them."""
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": ds,
        "targets": targets,
    }


def last_value() -> Json:
    """Reduce a series to its last non-null value (stat and bar gauge panels)."""
    return {"calcs": ["lastNotNull"], "fields": "", "values": False}


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
        **panel("timeseries", title, description, ds, targets),
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
        **panel("stat", title, description, ds, [target]),
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
            "reduceOptions": last_value(),
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
        **panel("bargauge", title, description, ds, [target]),
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
            "reduceOptions": last_value(),
        },
    }


def logs(title: str, expr: str, *, description: str = "") -> Json:
    return {
        **panel("logs", title, description, LOKI, [loki(expr)]),
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
        **panel("heatmap", title, description, PROM, [target]),
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


def color_override(name: str, color: str) -> Json:
    return {
        "matcher": {"id": "byName", "options": name},
        "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": color}}],
    }


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
