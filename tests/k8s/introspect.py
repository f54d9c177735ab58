"""What a container's process would read and serve, found without I/O in a child process.

`python -m tests.k8s.introspect` reads a JSON list of {"key", "package", "app", "paths",
"env"}; for each it loads the package's settings class (`<package>.config`) with exactly
`env` as the environment, and, when `app` names an app factory, builds the app (telemetry
off) and asks it a GET of each path through ASGI, without its lifespan (nothing connects).
It prints {key: {"variables", "optional" (unset means None), "error", "status"}}. A child
process, because building an app configures process-wide logging and telemetry.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import os
import sys
from typing import Any

import httpx
from pydantic import ValidationError

from mercato_shared.settings import BaseServiceSettings


def settings_class(package: str) -> type[BaseServiceSettings]:
    module = importlib.import_module(f"{package}.config")
    (found,) = [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BaseServiceSettings) and cls.__module__ == module.__name__
    ]
    return found


def statuses(factory: str, paths: list[str]) -> dict[str, int]:
    module, _, attribute = factory.partition(":")
    app = getattr(importlib.import_module(module), attribute)()

    async def ask() -> dict[str, int]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return {path: (await client.get(path)).status_code for path in paths}

    return asyncio.run(ask())


def inspect_one(request: dict[str, Any]) -> dict[str, Any]:
    cls = settings_class(request["package"])
    prefix = str(cls.model_config.get("env_prefix", ""))
    fields = {(prefix + (i.alias or n)).upper(): i.default for n, i in cls.model_fields.items()}
    result: dict[str, Any] = {
        "variables": sorted(fields),
        "optional": sorted(name for name, default in fields.items() if default is None),
        "error": None,
    }
    os.environ.clear()
    os.environ.update(request["env"])
    try:
        cls(_env_file=None)
    except ValidationError as exc:
        result["error"] = "; ".join(f"{e['loc']}: {e['msg']}" for e in exc.errors())
    if request["app"] and result["error"] is None:
        os.environ["OTEL_SDK_DISABLED"] = "true"
        result["status"] = statuses(request["app"], request["paths"])
    return result


def main() -> int:
    result_stream, sys.stdout = sys.stdout, sys.stderr  # the apps log JSON to stdout
    requests = json.load(sys.stdin)
    for request in requests:  # import everything before the environment is replaced
        settings_class(request["package"])
        if request["app"]:
            importlib.import_module(request["app"].partition(":")[0])
    saved = dict(os.environ)
    out = {}
    for request in requests:
        out[request["key"]] = inspect_one(request)
        os.environ.clear()
        os.environ.update(saved)
    json.dump(out, result_stream)
    return 0


if __name__ == "__main__":
    sys.exit(main())
