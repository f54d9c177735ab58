"""The native stack: Mercato's processes under supervisord, against local Postgres and Redis.

`up` migrates and seeds each service's database, renders the gateway and supervisord
configuration into the run directory, starts supervisord (or applies the new configuration
to the running one), waits until every service is ready through the gateway, and prints the
URLs. `down` shuts supervisord down, which stops every program it started.

Everything is configured by environment variables (and `.env`), the same ones the Docker
stack uses; `MERCATO_PORT_OFFSET` shifts every default port so that a second stack (the
end-to-end tests') can run beside the developer's.
"""

from __future__ import annotations

import argparse
import grp
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import topology
from native.render import render
from topology import Service, Worker

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


DESCRIPTION = topology.load()
SERVICES: tuple[Service, ...] = DESCRIPTION.services
WORKERS: tuple[Worker, ...] = DESCRIPTION.workers


@dataclass(frozen=True, slots=True)
class Stack:
    env: dict[str, str]
    run_dir: Path

    @property
    def logs(self) -> Path:
        return self.run_dir / "logs"

    @property
    def conf(self) -> Path:
        return self.run_dir / "supervisord.conf"

    @property
    def pidfile(self) -> Path:
        return self.run_dir / "supervisord.pid"

    def port(self, name: str, default: int) -> int:
        offset = int(self.env.get("MERCATO_PORT_OFFSET", "0"))
        return int(self.env.get(f"{name.upper()}_PORT", default + offset))

    @property
    def gateway_port(self) -> int:
        return self.port("gateway", DESCRIPTION.gateway.port)

    def service_port(self, service: Service) -> int:
        return self.port(service.name, service.port)

    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"


def read_dotenv(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def load_stack(environ: Mapping[str, str] | None = None) -> Stack:
    """The stack described by `.env` overridden by the process environment."""
    env = read_dotenv(ROOT / ".env") | dict(os.environ if environ is None else environ)
    run_dir = Path(env.get("MERCATO_RUN_DIR", str(ROOT / ".run" / "dev"))).resolve()
    stack = Stack(env=env, run_dir=run_dir)
    # Service-to-service URLs follow the ports, unless set explicitly.
    for service in SERVICES:
        env.setdefault(
            f"{service.name.upper()}_URL", f"http://127.0.0.1:{stack.service_port(service)}"
        )
    return stack


def _run(argv: list[str], stack: Stack, what: str) -> None:
    result = subprocess.run(
        argv, cwd=ROOT, env=stack.env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.stderr.write(f"{what} failed:\n{result.stdout}{result.stderr}\n")
        raise SystemExit(1)
    if result.stdout.strip():
        print(f"  {result.stdout.strip()}")


def check_dependencies(stack: Stack) -> None:
    """Fail early, with a clear message, when Postgres or Redis is not reachable."""
    probe = (
        "import asyncio, asyncpg, redis, os\n"
        "url = os.environ.get('POSTGRES_URL', 'postgresql+asyncpg://postgres@127.0.0.1:5432')\n"
        "dsn = url.replace('postgresql+asyncpg://', 'postgresql://') + '/postgres'\n"
        "async def pg():\n"
        "    conn = await asyncpg.connect(dsn, timeout=5)\n"
        "    await conn.close()\n"
        "asyncio.run(pg())\n"
        "redis.Redis.from_url(os.environ.get('REDIS_URL', 'redis://127.0.0.1:6379/0'),"
        " socket_timeout=3).ping()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], env=stack.env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        last = result.stderr.strip().splitlines()[-1:] or ["unknown error"]
        sys.stderr.write(
            "Postgres or Redis is not reachable (POSTGRES_URL, REDIS_URL): "
            f"{last[0]}\nStart them (see README, 'Requirements') and run again.\n"
        )
        raise SystemExit(1)


def prepare_databases(stack: Stack) -> None:
    for service in SERVICES:
        if service.migrate:
            print(f"migrating {service.name}")
            _run([sys.executable, "-m", service.migrate], stack, f"{service.name} migration")
        if service.seed:
            _run([sys.executable, "-m", *service.seed], stack, f"{service.name} seed")


#: Passive health checks of every upstream server: skipped for FAIL_TIMEOUT after MAX_FAILS
#: failed attempts within FAIL_TIMEOUT (the Docker image's defaults say the same).
UPSTREAM_MAX_FAILS = 3
UPSTREAM_FAIL_TIMEOUT = "10s"

#: The gateway's limits and their native defaults (docs/gateway.md has the table).
GATEWAY_LIMITS = {
    "GATEWAY_RATE_LIMIT": "100",
    "GATEWAY_RATE_BURST": "200",
    "GATEWAY_AUTH_RATE_PER_MINUTE": "30",
    "GATEWAY_AUTH_RATE_BURST": "10",
    "GATEWAY_CONN_LIMIT": "64",
    "GATEWAY_CLIENT_TIMEOUT": "10s",
    "GATEWAY_MAX_BODY": "1m",
    "GATEWAY_CORS_ORIGINS": "",
    "GATEWAY_READ_CACHE": "mercato_reads",
}


def upstream_servers(ports: Sequence[int]) -> str:
    """The `server` lines of one upstream: one per replica, on loopback, fixed addresses."""
    return "\n    ".join(
        f"server 127.0.0.1:{port} max_fails={UPSTREAM_MAX_FAILS} "
        f"fail_timeout={UPSTREAM_FAIL_TIMEOUT};"
        for port in ports
    )


def gateway_values(stack: Stack) -> dict[str, str]:
    values = {
        "RUN_DIR": str(stack.run_dir),
        "GATEWAY_PORT": str(stack.gateway_port),
        "GATEWAY_ACCESS_LOG": str(stack.logs / "gateway-access.log"),
        # Loopback addresses never change: nothing to re-resolve.
        "GATEWAY_RESOLVER": "",
    }
    values |= {name: stack.env.get(name, default) for name, default in GATEWAY_LIMITS.items()}
    for service in SERVICES:
        if service.routed:
            values[f"{service.name.upper()}_SERVERS"] = upstream_servers(
                [stack.service_port(service)]
            )
    return values


def nginx_user_directive(uid: int, user: str, group: str) -> str:
    """nginx's `user` line: the starting user when that is root, else none.

    A root master otherwise runs its workers as the compiled-in `nobody`, who cannot enter a
    checkout below a directory only root may enter, so request bodies spilled to
    client_body_temp fail with a 500. For any other user nginx ignores the directive.
    """
    return f"user {user} {group};" if uid == 0 else ""


def write_gateway_config(stack: Stack, overrides: Mapping[str, str] | None = None) -> None:
    """Render nginx.conf and mercato.conf into RUN_DIR/nginx (`overrides` replace values)."""
    nginx_dir = stack.run_dir / "nginx"
    nginx_dir.mkdir(parents=True, exist_ok=True)
    uid, gid = os.geteuid(), os.getegid()
    values = (
        gateway_values(stack)
        | dict(overrides or {})
        | {
            "GATEWAY_ERROR_LOG": str(stack.logs / "gateway-error.log"),
            "NGINX_USER_DIRECTIVE": nginx_user_directive(
                uid, pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name
            ),
        }
    )
    for source, target in (
        (ROOT / "native" / "nginx.conf.template", nginx_dir / "nginx.conf"),
        (ROOT / "gateway" / "templates" / "mercato.conf.template", nginx_dir / "mercato.conf"),
    ):
        target.write_text(render(source.read_text(), values))


def _program(name: str, command: str, stack: Stack, environment: Mapping[str, str]) -> str:
    env_line = ",".join(f'{key}="{value}"' for key, value in environment.items())
    return (
        f"[program:{name}]\n"
        f"command={command}\n"
        f"directory={ROOT}\n"
        f"environment={env_line}\n"
        f"stdout_logfile={stack.logs / name}.log\n"
        "stdout_logfile_maxbytes=20MB\n"
        "stdout_logfile_backups=2\n"
        "redirect_stderr=true\n"
        "autostart=true\n"
        "autorestart=true\n"
        "startsecs=2\n"
        "stopwaitsecs=15\n"
        "stopasgroup=true\n"
        "killasgroup=true\n"
    )


def supervisord_config(stack: Stack) -> str:
    sock = stack.run_dir / "supervisor.sock"
    sections = [
        f"[unix_http_server]\nfile={sock}\nchmod=0700\n",
        f"[supervisord]\nlogfile={stack.logs / 'supervisord.log'}\npidfile={stack.pidfile}\n"
        f"childlogdir={stack.logs}\ndirectory={ROOT}\nuser={os.environ.get('USER', 'root')}\n",
        "[rpcinterface:supervisor]\n"
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n",
        f"[supervisorctl]\nserverurl=unix://{sock}\n",
    ]
    for service in SERVICES:
        workers = stack.env.get("SERVICE_WORKERS", "1")
        command = (
            f"{BIN / 'uvicorn'} {service.app} --factory --host 127.0.0.1 "
            f"--port {stack.service_port(service)} --root-path /api/{service.name} "
            f"--workers {workers} --no-access-log --timeout-graceful-shutdown 10 "
            # Longer than the gateway's upstream keepalive_timeout (60 s): nginx, not the
            # app, closes idle connections, so a reused connection is never half-closed.
            "--timeout-keep-alive 75"
        )
        sections.append(_program(service.name, command, stack, {"OTEL_SERVICE_NAME": service.name}))
    for worker in WORKERS:
        command = " ".join([str(BIN / worker.command[0]), *worker.command[1:]])
        sections.append(_program(worker.name, command, stack, {"OTEL_SERVICE_NAME": worker.name}))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    nginx_dir = stack.run_dir / "nginx"
    sections.append(
        _program(
            "gateway",
            f"{nginx} -p {nginx_dir} -c {nginx_dir / 'nginx.conf'} "
            f"-e {stack.logs / 'gateway-error.log'}",
            stack,
            {"OTEL_SERVICE_NAME": "gateway"},
        )
    )
    return "\n".join(sections)


def supervisord_pid(stack: Stack) -> int | None:
    try:
        pid = int(stack.pidfile.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid


def supervisorctl(stack: Stack, *args: str, check: bool = True) -> int:
    argv = [str(BIN / "supervisorctl"), "-c", str(stack.conf), *args]
    return subprocess.run(argv, cwd=ROOT, env=stack.env, check=check).returncode


def wait_ready(stack: Stack, timeout: float) -> None:
    """Poll each service's `/readyz` until it answers 200: routed ones through the gateway,
    unrouted ones (partners) directly on their port."""
    deadline = time.monotonic() + timeout
    pending = list(SERVICES)
    while pending and time.monotonic() < deadline:
        service = pending[0]
        url = (
            f"{stack.gateway_url()}/api/{service.name}/readyz"
            if service.routed
            else f"http://127.0.0.1:{stack.service_port(service)}/readyz"
        )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - fixed http URL
                if response.status == 200:
                    pending.pop(0)
                    continue
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    if pending:
        names = ", ".join(s.name for s in pending)
        sys.stderr.write(f"not ready after {timeout:.0f}s: {names}; recent log lines:\n")
        for service in pending:
            log = stack.logs / f"{service.name}.log"
            if log.exists():
                sys.stderr.write("".join(log.read_text().splitlines(keepends=True)[-20:]))
        raise SystemExit(1)


def up(stack: Stack, *, timeout: float) -> None:
    if supervisord_pid(stack) is not None:
        # Programs inherit supervisord's environment, so a changed `.env` or variable only
        # takes effect in a new supervisord: `up` on a running stack restarts it.
        print("Mercato is running; restarting it with the current configuration")
        down(stack)
    stack.logs.mkdir(parents=True, exist_ok=True)
    check_dependencies(stack)
    prepare_databases(stack)
    write_gateway_config(stack)
    stack.conf.write_text(supervisord_config(stack))
    subprocess.run(
        [str(BIN / "supervisord"), "-c", str(stack.conf)], cwd=ROOT, env=stack.env, check=True
    )
    wait_ready(stack, timeout)
    url = stack.gateway_url()
    print(f"\nMercato is up (supervisord pid {supervisord_pid(stack)}, run dir {stack.run_dir})")
    print(f"  gateway         {url}/healthz")
    for service in SERVICES:
        if service.routed:
            print(f"  {service.name:<15} {url}/api/{service.name}/docs")


def down(stack: Stack, *, timeout: float = 30) -> None:
    pid = supervisord_pid(stack)
    if pid is None:
        print("Mercato is not running")
        return
    supervisorctl(stack, "shutdown", check=False)
    deadline = time.monotonic() + timeout
    while supervisord_pid(stack) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    if supervisord_pid(stack) is not None:
        os.kill(pid, signal.SIGKILL)
    print("Mercato is down")


def logs(stack: Stack, *, lines: int, follow: bool) -> None:
    files = sorted(str(path) for path in stack.logs.glob("*.log"))
    if not files:
        print("no logs yet")
        return
    argv = ["tail", f"-n{lines}", *(["-F"] if follow else []), *files]
    subprocess.run(argv, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m native", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up_parser = sub.add_parser("up", help="migrate, seed, start and wait until ready")
    up_parser.add_argument("--timeout", type=float, default=90)
    sub.add_parser("down", help="stop every process of the stack")
    sub.add_parser("ps", help="show the state of each process")
    logs_parser = sub.add_parser("logs", help="show the logs of each process")
    logs_parser.add_argument("-n", "--lines", type=int, default=40)
    logs_parser.add_argument("-f", "--follow", action="store_true")
    sub.add_parser("config", help="print the supervisord configuration")
    args = parser.parse_args()
    stack = load_stack()
    if args.command == "up":
        up(stack, timeout=args.timeout)
    elif args.command == "down":
        down(stack)
    elif args.command == "ps":
        if supervisord_pid(stack) is None:
            print("Mercato is not running")
        else:
            supervisorctl(stack, "status", check=False)
    elif args.command == "logs":
        logs(stack, lines=args.lines, follow=args.follow)
    else:
        print(supervisord_config(stack))
