"""Static checks for observability/: configs that cannot run here (no Docker) must at least be
well-formed and refer to each other correctly.

No network. Uses PyYAML; `promtool` (Debian package `prometheus`) when it is installed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OBS = ROOT / "observability"
GRAFANA = OBS / "grafana"
DASHBOARD_DIR = GRAFANA / "dashboards"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "datasources.yaml"
COLLECTOR = OBS / "otel-collector.yaml"
PROMETHEUS = OBS / "prometheus.yml"

YAML_FILES = sorted(p for ext in ("*.yaml", "*.yml") for p in OBS.rglob(ext))
DASHBOARD_FILES = sorted(DASHBOARD_DIR.glob("*.json"))
# Grafana's built-in annotation source and the "mixed" pseudo datasource.
BUILTIN_DS_UIDS = {"-- Grafana --", "grafana", "-- Mixed --", "-- Dashboard --"}
# Metric names (Prometheus form) that the services export and the dashboards must chart.
PROMISED_METRICS = [
    "http_server_request_duration_seconds_bucket",
    "db_client_connection_count",
    "mercato_cache_requests_total",
    "mercato_partner_request_duration_seconds_bucket",
    "mercato_circuit_breaker_state",
    "mercato_celery_queue_depth",
    "mercato_celery_task_duration_seconds_bucket",
    "mercato_celery_task_failures_total",
    "traces_service_graph_request_total",
]


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_dashboard(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping inside a JSON/YAML document, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def all_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def datasources() -> dict[str, dict[str, Any]]:
    return {ds["uid"]: ds for ds in load_yaml(DATASOURCES)["datasources"]}


def expressions() -> str:
    return "\n".join(
        target.get("expr", "")
        for path in DASHBOARD_FILES
        for panel in all_panels(load_dashboard(path))
        for target in panel.get("targets", [])
    )


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(OBS)))
def test_yaml_parses_to_a_mapping(path: Path) -> None:
    assert isinstance(load_yaml(path), dict), f"{path} is not a YAML mapping"


# --- Grafana -------------------------------------------------------------------------------------


def test_datasource_cross_links_point_at_defined_datasources() -> None:
    by_uid = datasources()
    prom, tempo, loki = (by_uid[uid]["jsonData"] for uid in ("prometheus", "tempo", "loki"))
    links = [d["datasourceUid"] for d in prom["exemplarTraceIdDestinations"]]
    links += [tempo[key]["datasourceUid"] for key in ("tracesToLogsV2", "tracesToMetrics")]
    links += [d["datasourceUid"] for d in loki["derivedFields"]]
    assert set(links) <= by_uid.keys()
    assert sum(bool(ds.get("isDefault")) for ds in by_uid.values()) == 1
    # Exemplars carry trace_id; OTLP logs carry it as structured metadata, not in the line.
    assert {d["name"]: d["datasourceUid"] for d in prom["exemplarTraceIdDestinations"]} == {
        "trace_id": "tempo"
    }
    for field in (f for f in loki["derivedFields"] if f["datasourceUid"] == "tempo"):
        assert (field["matcherType"], field["matcherRegex"]) == ("label", "trace_id")
    assert 'trace_id="$${__trace.traceId}"' in tempo["tracesToLogsV2"]["query"]
    assert {"key": "service.name", "value": "service_name"} in tempo["tracesToLogsV2"]["tags"]
    assert {"key": "service.name", "value": "job"} in tempo["tracesToMetrics"]["tags"]


def test_datasource_provisioning_escapes_every_dollar() -> None:
    """Grafana expands $VAR / ${VAR} in provisioning files: template variables need `$$`."""
    text = DATASOURCES.read_text(encoding="utf-8")
    assert [m.start() for m in re.finditer(r"(?<!\$)\$(?!\$)", text)] == []


# --- dashboards ----------------------------------------------------------------------------------


def test_dashboards_have_unique_uids_and_titles_and_query_known_datasources() -> None:
    """Panel ids, grid positions and each target's datasource are the generator's
    (mercato_dashboards.panels, test_dashboards_match_their_generator); what it is given is not."""
    dashboards = [load_dashboard(path) for path in DASHBOARD_FILES]
    uids = [d["uid"] for d in dashboards]
    assert [path.stem for path in DASHBOARD_FILES] == uids, "file name should be the uid"
    assert len(set(uids)) == len(uids) == len({d["title"] for d in dashboards})
    used = {node["datasource"]["uid"] for node in walk(dashboards) if "datasource" in node}
    assert used <= set(datasources()) | BUILTIN_DS_UIDS
    panels = [panel for dashboard in dashboards for panel in all_panels(dashboard)]
    assert [p["title"] for p in panels if p["type"] != "row" and not p.get("targets")] == []


def test_duration_panels_show_exemplars_and_the_promised_metrics_are_charted() -> None:
    for uid in ("mercato-overview", "mercato-celery", "mercato-partners", "mercato-data"):
        panels = all_panels(load_dashboard(DASHBOARD_DIR / f"{uid}.json"))
        targets = [t for p in panels for t in p.get("targets", [])]
        assert any(t.get("exemplar") and "_bucket" in t.get("expr", "") for t in targets), uid
    exprs = expressions()
    assert [m for m in PROMISED_METRICS if m not in exprs] == []
    # service.name is the `job` label with Prometheus OTLP ingestion, never service_name.
    assert "http_server_request_duration_seconds_count{service_name" not in exprs


def test_dashboards_match_their_generator() -> None:
    generator = GRAFANA / "generate_dashboards.py"
    result = subprocess.run(
        [sys.executable, str(generator), "--check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


# --- the collector and the backends ---------------------------------------------------------


def test_collector_pipelines_use_defined_components_and_reach_the_backends() -> None:
    config = load_yaml(COLLECTOR)
    defined = {kind: set(config.get(kind) or {}) for kind in ("receivers", "processors")}
    exporters, connectors = set(config["exporters"]), set(config.get("connectors") or {})
    pipelines = config["service"]["pipelines"]
    assert set(config["service"]["extensions"]) <= set(config["extensions"])
    produced: set[str] = set()
    consumed: set[str] = set()
    for name, pipeline in pipelines.items():
        assert name.split("/")[0] in {"traces", "metrics", "logs"}, name
        assert set(pipeline["receivers"]) <= defined["receivers"] | connectors, name
        assert set(pipeline["processors"]) <= defined["processors"], name
        assert set(pipeline["exporters"]) <= exporters | connectors, name
        assert pipeline["processors"][0] == "memory_limiter", f"{name}: memory_limiter not first"
        assert "batch" in pipeline["processors"], f"{name}: no batch processor"
        produced |= set(pipeline["receivers"]) & connectors
        consumed |= set(pipeline["exporters"]) & connectors
    # A connector must both consume (exporter side) and produce (receiver side).
    assert connectors == consumed == produced

    def endpoints(pipeline: str) -> set[str]:
        return {
            config["exporters"][e]["endpoint"]
            for e in pipelines[pipeline]["exporters"]
            if e in exporters
        }

    assert endpoints("traces") == {"tempo:4317"}
    assert endpoints("metrics") == {"http://prometheus:9090/api/v1/otlp"}
    assert endpoints("logs") == {"http://loki:3100/otlp"}


def test_spanmetrics_have_exemplars_and_tempo_does_not_count_them_again() -> None:
    spanmetrics = load_yaml(COLLECTOR)["connectors"]["spanmetrics"]
    assert spanmetrics["exemplars"]["enabled"] is True
    names = {d["name"] for d in spanmetrics["dimensions"]}
    assert names >= {"http.route", "http.request.method", "http.response.status_code"}
    tempo = load_yaml(OBS / "tempo.yaml")
    # The collector's connectors produce span metrics and the service graph.
    assert tempo["overrides"]["defaults"]["metrics_generator"]["processors"] == ["local-blocks"]
    assert "remote_write" not in tempo["metrics_generator"]["storage"]


def test_promtool_accepts_the_prometheus_config() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (apt-get install prometheus provides it)")
    result = subprocess.run(
        [promtool, "check", "config", str(PROMETHEUS)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
