"""The environment each container starts with, and what its process's settings read.

The settings classes are pydantic-settings: the variables they read are their fields. The
fields, the settings' verdict on the environment and the app's answers to its probe paths
are found in a child process (tests.k8s.introspect).
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.k8s.manifests import PROBES, ROOT, Container, Object, Rendered
from tests.k8s.roles import package, role
from topology import Stack


def _decoded(secret: Object) -> dict[str, str]:
    data = {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
    return data | dict(secret.get("stringData", {}))


def environment(rendered: Rendered, container: Container) -> tuple[dict[str, str], list[str]]:
    """The environment the container starts with (envFrom, then env), and what is missing."""
    env: dict[str, str] = {}
    missing = []
    for source in container.spec.get("envFrom", []):
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if key in source:
                ref = source[key]
                found = rendered.get(kind, ref["name"])
                if found is None:
                    if not ref.get("optional"):
                        missing.append(f"{container.where}: {kind} {ref['name']} does not exist")
                    continue
                data = _decoded(found) if kind == "Secret" else dict(found.get("data", {}))
                env.update({source.get("prefix", "") + k: v for k, v in data.items()})
    for variable in container.spec.get("env", []):
        name = variable["name"]
        if "value" in variable:
            env[name] = str(variable["value"])
            continue
        value_from = variable.get("valueFrom", {})
        for kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
            if key in value_from:
                ref = value_from[key]
                found = rendered.get(kind, ref["name"])
                data = (
                    {}
                    if found is None
                    else (_decoded(found) if kind == "Secret" else found.get("data", {}))
                )
                if ref["key"] in data:
                    env[name] = data[ref["key"]]
                elif not ref.get("optional"):
                    missing.append(
                        f"{container.where}: {name} refers to {kind} {ref['name']} key "
                        f"{ref['key']}, which does not exist"
                    )
    return env, missing


REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def expanded(command: list[str], env: dict[str, str]) -> list[str]:
    """The command as the kubelet runs it: $(VAR) replaced from the container's environment."""
    return [REFERENCE.sub(lambda m: env.get(m.group(1), m.group(0)), part) for part in command]


def introspect(requests: list[dict[str, Any]], cwd: Path) -> dict[str, Any]:
    """Run tests.k8s.introspect in a child process (see its docstring)."""
    if not requests:
        return {}
    result = subprocess.run(
        [sys.executable, "-m", "tests.k8s.introspect"],
        input=json.dumps(requests),
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    if result.returncode != 0:
        msg = f"introspection failed:\n{result.stderr}"
        raise RuntimeError(msg)
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def introspection_requests(rendered: Rendered, stack: Stack) -> list[dict[str, Any]]:
    requests = []
    for container in rendered.containers(init=False):
        member = package(container)
        if member is None:
            continue
        env, _ = environment(rendered, container)
        what = role(stack, container.name)
        app = what.service.app if what and what.service and what.job is None else None
        paths = sorted(
            {
                probe["httpGet"]["path"]
                for kind in PROBES
                if "httpGet" in (probe := container.spec.get(kind, {}))
            }
        )
        requests.append(
            {
                "key": container.name,
                "package": member,
                "app": app,
                "paths": paths,
                "env": env,
            }
        )
    return requests


def variable_problems(rendered: Rendered, stack: Stack, facts: dict[str, Any]) -> list[str]:
    """Every variable a process's settings read is provided, and the settings accept it.

    A variable whose unset value means None (derived from another, or "unpredictable") may
    be left out; so may POSTGRES_URL and REDIS_URL where stack.toml says the process uses
    no database or no Redis: those pods are not given the credentials on purpose.
    """
    problems = []
    for container in rendered.containers(init=False):
        if package(container) is None:
            continue
        env, missing = environment(rendered, container)
        problems.extend(missing)
        what = role(stack, container.name)
        if what is None:
            problems.append(f"{container.where}: not a process of stack.toml")
            continue
        info = facts.get(container.name)
        if info is None:
            problems.append(f"{container.where}: its settings were not introspected")
            continue
        withheld = {"POSTGRES_URL"} if not what.database else set()
        if not what.redis:
            withheld.add("REDIS_URL")
        for variable in sorted(
            set(info["variables"]) - set(env) - set(info["optional"]) - withheld
        ):
            problems.append(f"{container.where}: {variable} (read by its settings) is not set")
        if info["error"]:
            problems.append(
                f"{container.where}: its settings refuse the environment: {info['error']}"
            )
        for part in expanded(list(container.spec.get("command", [])), env):
            for name in REFERENCE.findall(part):
                problems.append(f"{container.where}: $({name}) in its command is not set")
        if "OTEL_SERVICE_NAME" not in env:
            problems.append(f"{container.where}: OTEL_SERVICE_NAME is not set")
    return problems
