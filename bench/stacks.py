"""Native stacks of the bench's own: start, find the processes of a program, stop.

Each stack has its own port offset, run directory, `bench_` databases (shared by the bench's
stacks, migrated and seeded by the first) and Redis database 5. The gateway's rate limit is
raised for these stacks only, and so is the limit of connections per address: the defaults
(100 requests/s per address, burst 200; 64 connections) would answer most of a load from
one address with 429, which is right in production and says nothing about the service path.
The gateway's micro-cache of catalog reads is off, so that
every figure is the service path's own; `BenchStack.gateway_read_cache` switches it on for
the row that publishes the micro-cached figure.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import topology
from bench import procs
from devtools.ports import free_port, wait_for_port
from native.gateway import write_gateway_config
from native.stack import load_stack

ROOT = Path(__file__).resolve().parent.parent
STACK = topology.load()


def base_env(offset: int, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The parent environment without explicit ports or OTel settings, plus the bench slot."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("_PORT") and not key.startswith("OTEL_")
    }
    env.update(
        {
            "MERCATO_PORT_OFFSET": str(offset),
            "MERCATO_RUN_DIR": str(ROOT / ".run" / f"bench-{offset}"),
            "DATABASE_PREFIX": os.environ.get("BENCH_DATABASE_PREFIX", "bench_"),
            "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"),
            "ENVIRONMENT": "test",
            "LOG_LEVEL": "WARNING",
            "GATEWAY_RATE_LIMIT": "1000000",
            "GATEWAY_RATE_BURST": "1000000",
            "GATEWAY_CONN_LIMIT": "60000",
            "GATEWAY_ADDRESS_CONN_LIMIT": "60000",
            "GATEWAY_READ_CACHE": "off",
        }
    )
    env.update(extra or {})
    return env


def native(command: str, env: Mapping[str, str]) -> None:
    subprocess.run(  # noqa: S603 - fixed argv: this interpreter, a module of the repo
        [sys.executable, "-m", "native", command],
        cwd=ROOT,
        env=dict(env),
        check=True,
        stdout=subprocess.DEVNULL,
    )


@contextmanager
def otlp_sink() -> Iterator[str]:
    """An OTLP/HTTP endpoint that answers 200 without decoding (cheaper than a collector)."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - fixed argv: this interpreter, a repo module
        [sys.executable, "-m", "devtools.otlp_receiver", "--port", str(port), "--discard"],
        cwd=ROOT,
    )
    try:
        if not wait_for_port(port, timeout=15):
            msg = f"nothing listens on 127.0.0.1:{port} after 15 s"
            raise SystemExit(msg)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass(frozen=True, slots=True)
class BenchStack:
    name: str
    offset: int
    env: dict[str, str]

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{STACK.gateway.port + self.offset}"

    def direct(self, service: str) -> str:
        return f"http://127.0.0.1:{STACK.service(service).port + self.offset}"

    def programs(self) -> list[str]:
        conf = Path(self.env["MERCATO_RUN_DIR"]) / "supervisord.conf"
        return re.findall(r"^\[program:([^\]]+)\]", conf.read_text(), re.MULTILINE)

    def program_pids(self, name: str) -> list[int]:
        """The processes of a program, or of every replica of a service (`NAME-1`, ...):
        each main process and every child."""
        found: list[int] = []
        for program in self.programs():
            if program == name or re.fullmatch(rf"{re.escape(name)}-\d+", program):
                pid = self._supervisorctl("pid", program, check=False).stdout.strip()
                if pid.isdigit() and pid != "0":
                    found += procs.tree(int(pid))
        return found

    @contextmanager
    def gateway_read_cache(self) -> Iterator[None]:
        """The gateway's micro-cache on for the duration of the block (nginx reloaded with
        the configuration re-rendered, no restart), then off again."""
        try:
            self._reload_gateway(read_cache="mercato_reads")
            yield
        finally:
            self._reload_gateway(read_cache="off")

    def _reload_gateway(self, *, read_cache: str) -> None:
        write_gateway_config(load_stack(self.env | {"GATEWAY_READ_CACHE": read_cache}))
        self._supervisorctl("signal", "HUP", "gateway", check=True)
        time.sleep(2)  # new workers up, old ones done with their connections

    def _supervisorctl(self, *args: str, check: bool) -> subprocess.CompletedProcess[str]:
        conf = Path(self.env["MERCATO_RUN_DIR"]) / "supervisord.conf"
        return subprocess.run(  # noqa: S603 - fixed argv: supervisorctl of this environment
            [str(Path(sys.executable).parent / "supervisorctl"), "-c", str(conf), *args],
            capture_output=True,
            text=True,
            check=check,
        )

    def supervisord_pid(self) -> int | None:
        try:
            return int((Path(self.env["MERCATO_RUN_DIR"]) / "supervisord.pid").read_text())
        except (OSError, ValueError):
            return None


@contextmanager
def running(name: str, offset: int, env: Mapping[str, str]) -> Iterator[BenchStack]:
    """A native stack for the duration of the block, stopped whatever happens."""
    stack = BenchStack(name, offset, dict(env))
    native("down", stack.env)
    print(f"== {name}: starting a stack at port offset {offset}", flush=True)
    try:
        native("up", stack.env)
        yield stack
    finally:
        native("down", stack.env)
