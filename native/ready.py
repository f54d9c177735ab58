"""Readiness: poll every process's `/readyz`, then every routed service through the gateway."""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request

from native.stack import Stack

POLL_SECONDS = 0.3


def readiness_urls(stack: Stack) -> dict[str, tuple[str, str]]:
    """What must answer 200 before the stack is up, with the log to show if it does not:
    each process directly on its port (every replica), then each routed service through
    the gateway."""
    urls = {r.program: (f"{r.url}/readyz", f"{r.program}.log") for r in stack.processes}
    gateway = stack.gateway_url()
    for service in stack.description.routed:
        urls[f"gateway -> {service.name}"] = (
            f"{gateway}{service.root_path}/readyz",
            "gateway-error.log",
        )
    return urls


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our http URL
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_ready(stack: Stack, timeout: float) -> None:
    """Return once every readiness URL answers 200; exit with the pending ones' recent log
    lines when `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    pending = readiness_urls(stack)
    while pending and time.monotonic() < deadline:
        name, (url, _) = next(iter(pending.items()))
        if _ready(url):
            del pending[name]
        else:
            time.sleep(POLL_SECONDS)
    if not pending:
        return
    sys.stderr.write(f"not ready after {timeout:.0f}s: {', '.join(pending)}; recent log lines:\n")
    for log in {stack.logs / log for _, log in pending.values()}:
        if log.exists():
            sys.stderr.write("".join(log.read_text().splitlines(keepends=True)[-20:]))
    raise SystemExit(1)
