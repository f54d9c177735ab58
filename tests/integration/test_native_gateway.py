"""The native gateway's nginx, run for real from a checkout that only its owner may enter.

pytest's base temporary directory (``/tmp/pytest-of-USER``) has mode 0700, which is the
situation of a clone in a ``mktemp -d`` directory or a private home: before the workers ran
as the starting user, a root master handed them to ``nobody``, who could not open
``client_body_temp`` there, and every request body larger than the in-memory buffer got a 500.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import free_port, wait_for_port
from native.gateway import write_gateway_config
from native.stack import load_stack


@pytest.fixture
def private_gateway(tmp_path: Path) -> Iterator[str]:
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if nginx is None:
        pytest.fail("nginx is not installed (make deps installs it)")
    run_dir = tmp_path / "private" / "run"
    run_dir.mkdir(parents=True)
    (tmp_path / "private").chmod(0o700)
    port = free_port()
    # Every upstream points at a closed port: a body that nginx could buffer is answered
    # 502 by the gateway, one it could not is a 500.
    closed = free_port()
    env = {
        "MERCATO_RUN_DIR": str(run_dir),
        "GATEWAY_PORT": str(port),
        **{f"{name}_PORT": str(closed) for name in ("IDENTITY", "CATALOG", "ORDERS")},
        **{f"{name}_PORT": str(closed) for name in ("CHECKOUT", "REPORTS", "PARTNERS")},
    }
    stack = load_stack(env)
    stack.logs.mkdir(parents=True)
    write_gateway_config(stack)
    nginx_dir = run_dir / "nginx"
    process = subprocess.Popen(
        [nginx, "-p", str(nginx_dir), "-c", str(nginx_dir / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_body_spilled_to_disk_reaches_the_upstream_stage(private_gateway: str) -> None:
    body = b'{"items": [' + b'{"product_id": 1, "quantity": 1},' * 20_000 + b"{}]}"

    response = httpx.post(
        f"{private_gateway}/api/orders/orders",
        content=body,
        headers={"content-type": "application/json"},
        timeout=10,
    )

    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "upstream_unavailable"
    assert response.headers["retry-after"] == "1"


def test_the_workers_run_as_the_starting_user(private_gateway: str, tmp_path: Path) -> None:
    conf = (tmp_path / "private" / "run" / "nginx" / "nginx.conf").read_text()

    if os.geteuid() == 0:
        assert "\nuser root " in conf
    else:
        assert "\nuser " not in conf
