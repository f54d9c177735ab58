"""The dev overlay runs the Grafana stack of observability/ with the Docker stack's files.

observability/kustomization.yaml packages the files as ConfigMaps; this keeps it complete:
every file docker-compose.yml mounts from observability/ (a dashboard added later included)
is, byte for byte, in a ConfigMap of the rendered dev overlay, and the images are compose's.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.k8s.manifests import ROOT, Rendered

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def mounted_from_observability() -> list[Path]:
    files = []
    for service in COMPOSE["services"].values():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("./observability/"):
                path = ROOT / source
                files += (
                    sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
                )
    return files


def test_every_file_compose_mounts_is_in_a_dev_configmap(dev: Rendered) -> None:
    packaged = {value for cm in dev.kind("ConfigMap") for value in cm.get("data", {}).values()}
    files = mounted_from_observability()
    assert len(files) >= 9  # the collector, Tempo, Loki, Prometheus, Grafana and 5 dashboards
    missing = [str(f.relative_to(ROOT)) for f in files if f.read_text() not in packaged]
    assert missing == [], "add them to observability/kustomization.yaml"


def test_the_stack_runs_compose_s_images(dev: Rendered) -> None:
    images = {
        name: str(COMPOSE["services"][name]["image"])
        for name in ("tempo", "loki", "prometheus", "grafana", "otel-collector")
    }
    for name, image in images.items():
        container = dev.container(name)
        assert container is not None, name
        assert container.spec["image"] == image
