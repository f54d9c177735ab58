"""Run one HTTP service under uvicorn: `python -m mercato_shared.serve`.

The one place that says how a service is served, for every runtime (the Docker image's CMD,
Kubernetes, the native stack's supervisord programs). It reads only environment variables:

  MERCATO_SERVICE   the service's name: its app is the factory `<name>.main:create_app`,
                    mounted under the gateway's prefix `/api/<name>`
  PORT              the port to listen on
  HOST              the address to listen on (default 0.0.0.0)
  SERVICE_WORKERS   uvicorn worker processes (default 1)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

__all__ = ["ServeConfigError", "main", "uvicorn_argv"]

#: Seconds uvicorn gives requests in flight to finish after SIGTERM (supervisord and the
#: orchestrators wait longer before they kill).
GRACEFUL_SHUTDOWN_SECONDS = 10
#: Longer than the gateway's upstream keepalive_timeout: nginx, not the app, closes idle
#: connections, so a connection nginx reuses is never half-closed by the app.
KEEP_ALIVE_SECONDS = 75


class ServeConfigError(ValueError):
    """The environment does not say which service to serve, or where."""


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ServeConfigError(f"{name} must be set")
    return value


def _positive(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    if not value.isdigit() or int(value) < 1:
        raise ServeConfigError(f"{name} must be a positive integer, not {value!r}")
    return value


def uvicorn_argv(env: Mapping[str, str]) -> list[str]:
    """uvicorn's command-line arguments (without the program name) for the environment."""
    service = _required(env, "MERCATO_SERVICE")
    if not service.isidentifier():
        raise ServeConfigError(f"MERCATO_SERVICE must be a package name, not {service!r}")
    return [
        f"{service}.main:create_app",
        "--factory",
        "--host",
        env.get("HOST", "").strip() or "0.0.0.0",  # noqa: S104 - a container's own interface
        "--port",
        _positive(env, "PORT", ""),
        "--root-path",
        f"/api/{service}",
        "--workers",
        _positive(env, "SERVICE_WORKERS", "1"),
        "--no-access-log",
        "--timeout-graceful-shutdown",
        str(GRACEFUL_SHUTDOWN_SECONDS),
        "--timeout-keep-alive",
        str(KEEP_ALIVE_SECONDS),
    ]


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> None:
    """Replace this process with uvicorn serving the service the environment names."""
    if argv is None:
        argv = sys.argv[1:]
    if argv:
        raise SystemExit("usage: python -m mercato_shared.serve (configured by environment)")
    try:
        args = uvicorn_argv(os.environ if env is None else env)
    except ServeConfigError as exc:
        raise SystemExit(f"mercato_shared.serve: {exc}") from exc
    # exec, not a child: signals from supervisord or the container runtime reach uvicorn.
    os.execv(sys.executable, [sys.executable, "-m", "uvicorn", *args])  # noqa: S606


if __name__ == "__main__":
    main()
