"""A service of a bench stack run once more beside it: another server, another worker count.

The extra process is the stack's own program (the argv and environment the native stack
gives it, so the same database, Redis, settings and telemetry), on a free port, with only
the server or the worker count changed. It answers direct requests while it runs, and is
stopped when the block ends. (b)'s variants use it: granian beside uvicorn, and catalog
with one worker per core.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bench import procs
from bench.stacks import ROOT, BenchStack
from devtools.ports import free_port, wait_for_port
from native.stack import Replica, load_stack
from native.supervisor import programs

Server = Literal["uvicorn", "granian"]
BIN = Path(sys.executable).parent


@dataclass(frozen=True, slots=True)
class SideServer:
    url: str
    pids: Callable[[], list[int]]


@dataclass(frozen=True, slots=True)
class StackProgram:
    """A service's first process as the native stack runs it: argv and environment."""

    replica: Replica
    argv: list[str]
    env: dict[str, str]


def stack_program(stack: BenchStack, service: str) -> StackProgram:
    native_stack = load_stack(stack.env)
    replica = native_stack.first_replica(service)
    argv, program_env = programs(native_stack)[replica.program]
    return StackProgram(replica, argv, native_stack.env | program_env)


def command(program: StackProgram, server: Server, workers: int, port: int) -> list[str]:
    """The program's argv on `port` with `workers`, under `server` (uvicorn: the stack's own
    argv, `mercato_shared.serve`, which takes both from `environment`)."""
    replica = program.replica
    if server == "uvicorn":
        return program.argv
    return [
        str(BIN / "granian"),
        "--interface",
        "asgi",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--no-ws",
        "--log-level",
        "warning",
        "--url-path-prefix",
        replica.service.root_path,
        replica.service.app,
    ]


@contextmanager
def side_server(
    stack: BenchStack, service: str, server: Server, workers: int
) -> Iterator[SideServer]:
    program = stack_program(stack, service)
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - argv of this environment's own servers
        command(program, server, workers, port),
        cwd=ROOT,
        env=program.env | {"PORT": str(port), "SERVICE_WORKERS": str(workers)},
        stdout=subprocess.DEVNULL,
    )
    try:
        if not wait_for_port(port, timeout=30):
            msg = f"{server} did not listen on 127.0.0.1:{port} within 30 s"
            raise SystemExit(msg)
        time.sleep(2)  # every worker up and past its lifespan
        yield SideServer(f"http://127.0.0.1:{port}", lambda: procs.tree(process.pid))
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
