"""Every object against the OpenAPI schema of its kind, offline.

Kubernetes' own kinds against the schemas kubernetes-validate ships for the stated version;
KEDA's against the models cloudcoil-models-keda generates from KEDA's published CRDs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import kubernetes_validate
from cloudcoil.models.keda import v1alpha1
from pydantic import ValidationError

from tests.k8s.manifests import Object, where

# The Kubernetes version the manifests are validated against (kubernetes-validate ships its
# OpenAPI schemas). It is the oldest the manifests need: the preStop `sleep` action is on by
# default from 1.30, and 1.32 is the kubectl this machine has.
KUBERNETES_VERSION = "1.32.0"


def _unknown_fields(given: Any, kept: Any, path: str) -> list[str]:
    """Keys of `given` that the model dropped: fields the schema does not have."""
    if isinstance(given, dict) and isinstance(kept, dict):
        found = []
        for key, value in given.items():
            if key not in kept:
                found.append(f"{path}.{key}")
            else:
                found.extend(_unknown_fields(value, kept[key], f"{path}.{key}"))
        return found
    if isinstance(given, list) and isinstance(kept, list):
        return [
            problem
            for index, (a, b) in enumerate(zip(given, kept, strict=False))
            for problem in _unknown_fields(a, b, f"{path}[{index}]")
        ]
    return []


def keda_problems(obj: Object) -> list[str]:
    """A KEDA object against the models cloudcoil generates from KEDA's published CRDs.

    The models ignore unknown keys, so what they drop when the object is dumped again is
    reported as an unknown field (the API server would reject or prune it).
    """
    model_class = getattr(v1alpha1, str(obj["kind"]), None)
    if model_class is None or obj["apiVersion"] != "keda.sh/v1alpha1":
        return [f"{where(obj)}: no published KEDA schema for {obj['apiVersion']}"]
    try:
        model = model_class.model_validate(obj)
    except ValidationError as exc:
        return [f"{where(obj)}: {error['loc']}: {error['msg']}" for error in exc.errors()]
    kept = model.model_dump(by_alias=True, exclude_unset=True, mode="json")
    return [f"{where(obj)}: unknown field {path}" for path in _unknown_fields(obj, kept, "")]


def schema_problems(objects: Iterable[Object], version: str = KUBERNETES_VERSION) -> list[str]:
    """Every object against the OpenAPI schema of its kind (strict: no unknown fields)."""
    problems = []
    for obj in objects:
        if str(obj.get("apiVersion", "")).startswith("keda.sh/"):
            problems.extend(keda_problems(obj))
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            location = ".".join(str(part) for part in exc.path)
            problems.append(f"{where(obj)}: {exc.message} (at {location or 'top level'})")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"{where(obj)}: no schema for {obj['apiVersion']} in {version}")
    return problems
