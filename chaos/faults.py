"""The faults `make chaos` injects into its own stack, and how it finds its processes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chaos.servers import OwnPostgres, OwnRedis

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Fault:
    name: str
    what_a_client_sees: str
    inject: Callable[[], str]  # returns what it did, for the log
    lasts: float = 0.0  # seconds before `heal` runs (0: heals by itself)
    heal: Callable[[], object] | None = None


class Target:
    """The chaos stack's processes (supervisord) and servers (its own Postgres and Redis)."""

    def __init__(
        self, run_dir: Path, postgres: OwnPostgres, redis: OwnRedis, partners_url: str
    ) -> None:
        self.run_dir = run_dir
        self.postgres = postgres
        self.redis = redis
        self.partners_url = partners_url

    def programs(self) -> dict[str, int]:
        status = subprocess.run(
            [str(BIN / "supervisorctl"), "-c", str(self.run_dir / "supervisord.conf"), "status"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        return {
            match.group(1): int(match.group(2))
            for match in re.finditer(r"^(\S+)\s+RUNNING\s+pid (\d+)", status, re.MULTILINE)
        }

    def pid_of(self, program: str) -> int:
        """The pid of `program`, or of its first replica (`program-1`)."""
        running = self.programs()
        for name in (program, f"{program}-1"):
            if name in running:
                return running[name]
        msg = f"{program} is not running: {sorted(running)}"
        raise RuntimeError(msg)

    def kill(self, program: str) -> str:
        pid = self.pid_of(program)
        os.kill(pid, signal.SIGKILL)
        return f"kill -9 {program} (pid {pid})"

    def kill_worker_child(self) -> str:
        parent = self.pid_of("worker")
        children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        if not children:
            msg = "the worker has no prefork child"
            raise RuntimeError(msg)
        child = int(children[0])
        os.kill(child, signal.SIGKILL)
        return f"kill -9 worker child (pid {child})"

    def partners(self, profile: dict[str, object], did: str = "partners healed") -> str:
        for partner in ("carrier-swift", "carrier-parcelpost", "carrier-freightline", "tax", "fx"):
            request = urllib.request.Request(
                f"{self.partners_url}/admin/faults/{partner}",
                data=json.dumps(profile).encode(),
                method="PUT",
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                response.read()
        return did

    def restart_redis(self) -> str:
        self.redis.restart()
        return "Redis killed and started empty"

    def restart_postgres(self) -> str:
        started = time.monotonic()
        self.postgres.restart("fast")
        return f"Postgres fast restart ({time.monotonic() - started:.1f} s down)"


def schedule(target: Target) -> list[Fault]:
    return [
        Fault(
            "kill -9 catalog",
            "reads and reservations: 503 until supervisord restarts it (one replica), "
            "none with two (the gateway retries idempotent requests on the other)",
            lambda: target.kill("catalog"),
        ),
        Fault(
            "kill -9 orders",
            "orders in flight fail (503 upstream_unavailable); retries with the same key succeed",
            lambda: target.kill("orders"),
        ),
        Fault(
            "kill -9 worker child",
            "nothing: the job it ran is redelivered or swept, and ends with one result",
            target.kill_worker_child,
        ),
        Fault("kill -9 beat", "nothing: supervisord restarts it", lambda: target.kill("beat")),
        Fault(
            "Redis restart (flushed)",
            "reads slower (cache misses), no errors; queued report messages are re-published",
            target.restart_redis,
        ),
        Fault(
            "Postgres fast restart",
            "503 dependency_unavailable with Retry-After for a moment, then normal",
            target.restart_postgres,
        ),
        Fault(
            "partner outage (5 s)",
            "quotes 200 with `partial` sources (or 503 if none answers); nothing else",
            lambda: target.partners({"outage": True}, "every partner answers 503"),
            lasts=5.0,
            heal=lambda: target.partners({}),
        ),
        Fault(
            "partner slowness (5 s)",
            "quotes slower, timed-out sources marked; nothing else",
            lambda: target.partners({"latency_ms": 1500}, "every partner +1.5 s"),
            lasts=5.0,
            heal=lambda: target.partners({}),
        ),
    ]
