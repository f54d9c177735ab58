"""Serve an app factory in a uvicorn process of its own, on a free loopback port.

For a collaborator whose behaviour on the network is what a test is about (a partner that
hangs, notices a caller hanging up), so it must not share the test's event loop. The app
is named by its module path: the test never imports it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Final

import httpx

from mercato_shared.testing.loopback import free_port

#: A guard against a process that never answers, not a measurement.
READY_GUARD_SECONDS: Final = 30


class ProcessNotReadyError(RuntimeError):
    pass


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_GUARD_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            msg = f"the server for {url} exited with {process.returncode}"
            raise ProcessNotReadyError(msg)
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    msg = f"{url} did not answer /readyz within {READY_GUARD_SECONDS} s"
    raise ProcessNotReadyError(msg)


@contextmanager
def served_process(service: str, env: Mapping[str, str] = {}) -> Iterator[str]:
    """Run the service named `service` as every runtime does (`python -m
    mercato_shared.serve`) on a free loopback port until the block ends; yields its base URL.

    The process gets this environment (without OpenTelemetry's variables) plus `env`; it is
    ready once its `/readyz` answers 200.
    """
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mercato_shared.serve"],
        env=inherited
        | {"MERCATO_SERVICE": service, "HOST": "127.0.0.1", "PORT": str(port)}
        | {"SERVICE_WORKERS": "1"}
        | dict(env or {}),
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)
