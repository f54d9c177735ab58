"""Static checks for observability/: configs that cannot run here (no Docker) must at least be
well-formed and consistent with each other.

No network. Uses PyYAML; `promtool` (Debian package `prometheus`) when it is installed.
"""

from __future__ import annotations

import configparser
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
DASHBOARD_PROVIDER = GRAFANA / "provisioning" / "dashboards" / "dashboards.yaml"
COLLECTOR = OBS / "otel-collector.yaml"
PROMETHEUS = OBS / "prometheus.yml"
LOKI = OBS / "loki.yaml"
TEMPO = OBS / "tempo.yaml"

YAML_FILES = sorted(p for ext in ("*.yaml", "*.yml") for p in OBS.rglob(ext))
DASHBOARD_FILES = sorted(DASHBOARD_DIR.glob("*.json"))
EXPECTED_DASHBOARDS = {
    "mercato-overview",
    "mercato-gateway",
    "mercato-data",
    "mercato-celery",
    "mercato-partners",
}
# Grafana's built-in annotation source and the "mixed" pseudo datasource.
BUILTIN_DS_UIDS = {"-- Grafana --", "grafana", "-- Mixed --", "-- Dashboard --"}
# Metric names (Prometheus form) that the services export and the dashboards must chart.
PROMISED_METRICS = [
    "http_server_request_duration_seconds_bucket",
    "http_server_request_duration_seconds_count",
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
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


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


def datasource_uids() -> set[str]:
    return {ds["uid"] for ds in load_yaml(DATASOURCES)["datasources"]}


def datasources_by_uid() -> dict[str, dict[str, Any]]:
    return {ds["uid"]: ds for ds in load_yaml(DATASOURCES)["datasources"]}


# --------------------------------------------------------------------------------- YAML


def test_observability_files_exist() -> None:
    for path in (COLLECTOR, PROMETHEUS, LOKI, TEMPO, DATASOURCES, DASHBOARD_PROVIDER):
        assert path.is_file(), path
    assert (GRAFANA / "grafana.ini").is_file()
    assert (OBS / "README.md").is_file()


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(OBS)))
def test_yaml_parses(path: Path) -> None:
    document = load_yaml(path)
    assert isinstance(document, dict), f"{path} is not a YAML mapping"


# ------------------------------------------------------------------------------ Grafana


def test_datasources_have_the_fixed_uids() -> None:
    by_uid = datasources_by_uid()
    assert by_uid.keys() >= {"prometheus", "tempo", "loki"}
    assert by_uid["prometheus"]["type"] == "prometheus"
    assert by_uid["tempo"]["type"] == "tempo"
    assert by_uid["loki"]["type"] == "loki"
    assert sum(bool(ds.get("isDefault")) for ds in by_uid.values()) == 1


def test_datasource_cross_links_point_at_defined_datasources() -> None:
    by_uid = datasources_by_uid()
    links: list[str] = []
    prom = by_uid["prometheus"]["jsonData"]
    links += [d["datasourceUid"] for d in prom["exemplarTraceIdDestinations"]]
    tempo = by_uid["tempo"]["jsonData"]
    for key in ("tracesToLogsV2", "tracesToMetrics", "serviceMap", "lokiSearch"):
        links.append(tempo[key]["datasourceUid"])
    loki = by_uid["loki"]["jsonData"]
    links += [d["datasourceUid"] for d in loki["derivedFields"]]
    assert links, "no cross links found"
    missing = sorted(set(links) - by_uid.keys())
    assert not missing, f"links to undefined datasource uids: {missing}"


def test_exemplars_link_trace_id_label_to_tempo() -> None:
    prom = datasources_by_uid()["prometheus"]["jsonData"]
    destinations = {d["name"]: d["datasourceUid"] for d in prom["exemplarTraceIdDestinations"]}
    assert destinations.get("trace_id") == "tempo"


def test_loki_derived_field_reads_structured_metadata() -> None:
    fields = datasources_by_uid()["loki"]["jsonData"]["derivedFields"]
    trace_fields = [f for f in fields if f["datasourceUid"] == "tempo"]
    assert trace_fields
    for field in trace_fields:
        # OTLP logs carry trace_id as structured metadata, not in the line text.
        assert field["matcherType"] == "label"
        assert field["matcherRegex"] == "trace_id"
        assert field["url"] == "$${__value.raw}"


def test_tempo_links_filter_on_trace_id_and_service_labels() -> None:
    tempo = datasources_by_uid()["tempo"]["jsonData"]
    to_logs = tempo["tracesToLogsV2"]
    assert to_logs["customQuery"] is True
    assert 'trace_id="$${__trace.traceId}"' in to_logs["query"]
    assert {"key": "service.name", "value": "service_name"} in to_logs["tags"]
    to_metrics = tempo["tracesToMetrics"]
    assert {"key": "service.name", "value": "job"} in to_metrics["tags"]
    assert to_metrics["queries"]
    assert tempo["nodeGraph"]["enabled"] is True


def test_datasource_provisioning_escapes_every_dollar() -> None:
    """Grafana expands $VAR / ${VAR} in provisioning files: template variables need `$$`."""
    text = DATASOURCES.read_text(encoding="utf-8")
    single = [m.start() for m in re.finditer(r"(?<!\$)\$(?!\$)", text)]
    assert not single, f"unescaped $ at offsets {single}"


def test_dashboard_provider_points_at_the_dashboard_mount() -> None:
    providers = load_yaml(DASHBOARD_PROVIDER)["providers"]
    assert len(providers) == 1
    assert providers[0]["type"] == "file"
    assert providers[0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_grafana_ini_anonymous_viewer_and_home_dashboard() -> None:
    ini = configparser.ConfigParser(inline_comment_prefixes=(";",))
    ini.read(GRAFANA / "grafana.ini", encoding="utf-8")
    assert ini.getboolean("auth.anonymous", "enabled")
    assert ini.get("auth.anonymous", "org_role") == "Viewer"
    home = ini.get("dashboards", "default_home_dashboard_path")
    assert home.startswith("/var/lib/grafana/dashboards/")
    home_file = DASHBOARD_DIR / Path(home).name
    assert home_file.is_file()
    assert load_dashboard(home_file)["uid"] == "mercato-overview"


# --------------------------------------------------------------------------- dashboards


def test_expected_dashboards_exist_with_unique_uids_and_titles() -> None:
    uids: list[str] = []
    titles: list[str] = []
    for path in DASHBOARD_FILES:
        dashboard = load_dashboard(path)
        assert dashboard.get("uid"), f"{path.name} has no uid"
        assert dashboard.get("title"), f"{path.name} has no title"
        assert path.stem == dashboard["uid"], "file name should be the uid"
        assert 36 <= dashboard["schemaVersion"] <= 41
        assert dashboard.get("id") is None, "provisioned dashboards must not pin an id"
        uids.append(dashboard["uid"])
        titles.append(dashboard["title"])
    assert len(uids) == len(set(uids)), "duplicate dashboard uid"
    assert len(titles) == len(set(titles)), "duplicate dashboard title"
    assert set(uids) >= EXPECTED_DASHBOARDS


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_dashboard_datasources_are_referenced_by_known_uid(path: Path) -> None:
    known = datasource_uids() | BUILTIN_DS_UIDS
    dashboard = load_dashboard(path)
    for node in walk(dashboard):
        ds = node.get("datasource")
        if ds is None:
            continue
        assert isinstance(ds, dict), f"{path.name}: datasource by name {ds!r}, use a uid"
        assert ds.get("uid") in known, f"{path.name}: unknown datasource uid {ds!r}"
    for panel in all_panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel.get("datasource"), f"{path.name}: panel {panel['title']!r} has no datasource"
        assert panel.get("targets"), f"{path.name}: panel {panel['title']!r} has no query"
        for target in panel["targets"]:
            assert target.get("datasource"), f"{path.name}: target without datasource"


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_dashboard_panel_ids_and_grid_are_sane(path: Path) -> None:
    panels = list(all_panels(load_dashboard(path)))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel id"
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0, f"{path.name}: {panel['title']}"
        assert grid["x"] + grid["w"] <= 24, f"{path.name}: {panel['title']}"


def test_histogram_dashboards_enable_exemplars() -> None:
    for uid in ("mercato-overview", "mercato-celery", "mercato-partners", "mercato-data"):
        dashboard = load_dashboard(DASHBOARD_DIR / f"{uid}.json")
        exemplar_targets = [
            t
            for p in all_panels(dashboard)
            for t in p.get("targets", [])
            if t.get("exemplar") and "_bucket" in t.get("expr", "")
        ]
        assert exemplar_targets, f"{uid}: no duration panel shows exemplars"


def test_overview_has_service_graph_and_logs() -> None:
    dashboard = load_dashboard(DASHBOARD_DIR / "mercato-overview.json")
    types = {p["type"]: p for p in all_panels(dashboard)}
    assert types["nodeGraph"]["datasource"]["uid"] == "tempo"
    assert types["nodeGraph"]["targets"][0]["queryType"] == "serviceMap"
    assert types["logs"]["datasource"]["uid"] == "loki"


def test_gateway_dashboard_reads_loki_access_log() -> None:
    dashboard = load_dashboard(DASHBOARD_DIR / "mercato-gateway.json")
    exprs = [t["expr"] for p in all_panels(dashboard) for t in p.get("targets", [])]
    assert exprs
    assert all('service_name="gateway"' in e for e in exprs)
    assert any("unwrap request_time" in e for e in exprs)


def test_promised_metric_names_are_charted() -> None:
    exprs = "\n".join(
        t.get("expr", "")
        for path in DASHBOARD_FILES
        for p in all_panels(load_dashboard(path))
        for t in p.get("targets", [])
    )
    missing = [m for m in PROMISED_METRICS if m not in exprs]
    assert not missing, f"metrics not used by any dashboard: {missing}"
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


# ---------------------------------------------------------------------------- collector


def _component_ids(section: dict[str, Any] | None) -> set[str]:
    return set((section or {}).keys())


def test_collector_pipelines_reference_defined_components() -> None:
    config = load_yaml(COLLECTOR)
    receivers = _component_ids(config.get("receivers"))
    processors = _component_ids(config.get("processors"))
    exporters = _component_ids(config.get("exporters"))
    connectors = _component_ids(config.get("connectors"))
    extensions = _component_ids(config.get("extensions"))
    service = config["service"]
    assert set(service.get("extensions", [])) <= extensions
    assert "health_check" in service["extensions"]

    used_as_exporter: set[str] = set()
    used_as_receiver: set[str] = set()
    for name, pipeline in service["pipelines"].items():
        signal = name.split("/")[0]
        assert signal in {"traces", "metrics", "logs"}, name
        for rid in pipeline["receivers"]:
            assert rid in receivers | connectors, f"{name}: undefined receiver {rid}"
        for pid in pipeline.get("processors", []):
            assert pid in processors, f"{name}: undefined processor {pid}"
        for eid in pipeline["exporters"]:
            assert eid in exporters | connectors, f"{name}: undefined exporter {eid}"
        assert pipeline["processors"][0] == "memory_limiter", f"{name}: memory_limiter not first"
        assert "batch" in pipeline["processors"], f"{name}: no batch processor"
        used_as_receiver |= set(pipeline["receivers"]) & connectors
        used_as_exporter |= set(pipeline["exporters"]) & connectors
    # A connector must both consume (exporter side) and produce (receiver side).
    assert connectors == used_as_exporter == used_as_receiver


def test_collector_routes_signals_to_the_backends() -> None:
    config = load_yaml(COLLECTOR)
    exporters = config["exporters"]
    pipelines = config["service"]["pipelines"]

    def endpoints(pipeline: str) -> set[str]:
        return {
            exporters[e]["endpoint"] for e in pipelines[pipeline]["exporters"] if e in exporters
        }

    assert endpoints("traces") == {"tempo:4317"}
    assert endpoints("metrics") == {"http://prometheus:9090/api/v1/otlp"}
    assert endpoints("logs") == {"http://loki:3100/otlp"}
    assert set(pipelines["traces"]["exporters"]) >= {"spanmetrics", "servicegraph"}
    for eid in exporters:
        assert eid.split("/")[0] in {"otlp_grpc", "otlp_http", "otlp", "otlphttp", "debug"}


def test_collector_listens_on_all_interfaces() -> None:
    config = load_yaml(COLLECTOR)
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert protocols["http"]["endpoint"] == "0.0.0.0:4318"
    assert config["extensions"]["health_check"]["endpoint"].startswith("0.0.0.0:")


def test_spanmetrics_connector_has_exemplars_and_http_dimensions() -> None:
    spanmetrics = load_yaml(COLLECTOR)["connectors"]["spanmetrics"]
    assert spanmetrics["exemplars"]["enabled"] is True
    assert spanmetrics["histogram"]["unit"] == "s"
    assert spanmetrics["histogram"]["explicit"]["buckets"]
    names = {d["name"] for d in spanmetrics["dimensions"]}
    assert names >= {"http.route", "http.request.method", "http.response.status_code"}


# ------------------------------------------------------------------- Prometheus, Loki, Tempo


def test_prometheus_config_scrapes_itself_and_the_collector() -> None:
    config = load_yaml(PROMETHEUS)
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }
    assert {"localhost:9090", "otel-collector:8888"} <= targets


def test_promtool_check_config() -> None:
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


def test_loki_accepts_otlp_with_structured_metadata() -> None:
    config = load_yaml(LOKI)
    limits = config["limits_config"]
    assert limits["allow_structured_metadata"] is True
    index_labels = {
        attr
        for rule in limits["otlp_config"]["resource_attributes"]["attributes_config"]
        if rule["action"] == "index_label"
        for attr in rule["attributes"]
    }
    assert "service.name" in index_labels
    assert "service.instance.id" not in index_labels
    schemas = config["schema_config"]["configs"]
    assert schemas[-1]["schema"] == "v13"
    assert schemas[-1]["store"] == "tsdb"
    assert config["common"]["storage"]["filesystem"]
    assert config["auth_enabled"] is False


def test_tempo_receives_otlp_and_does_not_double_count_span_metrics() -> None:
    config = load_yaml(TEMPO)
    protocols = config["distributor"]["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert config["storage"]["trace"]["backend"] == "local"
    assert config["server"]["http_listen_port"] == 3200
    processors = config["overrides"]["defaults"]["metrics_generator"]["processors"]
    # The collector's connectors produce span metrics and the service graph.
    assert processors == ["local-blocks"]
    assert "remote_write" not in config["metrics_generator"]["storage"]
