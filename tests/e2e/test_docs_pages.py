"""Every service's docs pages render in a browser with the network cut off.

Headless Chromium (Debian's package) loads `/api/<service>/docs` (Swagger UI) and
`/api/<service>/redoc` (ReDoc) through the gateway, with its CSP, while every host name
resolves to nothing: only the gateway on 127.0.0.1 is reachable. Each page must render
every operation of the service's OpenAPI document, which only happens when its scripts
and styles came from the service itself and the CSP let them run.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

import topology

ROUTED = [service.name for service in topology.load().routed]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: Every host name fails to resolve, so nothing outside loopback can load.
OFFLINE = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


def rendered(url: str, profile: Path) -> str:
    """The page's DOM once its scripts have run (virtual time: no wall-clock wait)."""
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--host-resolver-rules={OFFLINE}",
            "--virtual-time-budget=30000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


@pytest.mark.parametrize("service", ROUTED)
def test_swagger_ui_renders_every_operation_offline(
    limits_gateway: str, service: str, tmp_path: Path
) -> None:
    document = httpx.get(f"{limits_gateway}/api/{service}/openapi.json", timeout=10).json()
    dom = rendered(f"{limits_gateway}/api/{service}/docs", tmp_path)
    assert 'class="opblock ' in dom, dom[-2000:]
    for method, path, _ in operations(document):
        assert f'data-path="{path}"' in dom, (method, path)


@pytest.mark.parametrize("service", ROUTED)
def test_redoc_renders_every_operation_offline(
    limits_gateway: str, service: str, tmp_path: Path
) -> None:
    document = httpx.get(f"{limits_gateway}/api/{service}/openapi.json", timeout=10).json()
    dom = rendered(f"{limits_gateway}/api/{service}/redoc", tmp_path)
    for _, path, operation in operations(document):
        assert operation["summary"] in dom, (path, dom[-2000:])
        assert operation["operationId"] in dom, path
