"""Throwaway Postgres and Redis servers for the tests and runs that break them.

Never the machine's: each is a new server on a free loopback port with its data in a fresh
temporary directory, stopped (by its PID) and deleted on `close()`. Postgres is a new
`initdb` cluster; as root it runs as the `postgres` user, which initdb insists on.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from devtools.ports import free_port, port_open

PG_BIN_DIRS: Final = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin")
_START_TIMEOUT: Final = 60.0


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `check` until it holds; the timeout only bounds the wait (then it raises)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            msg = f"{what} did not happen within {timeout:.0f} s"
            raise TimeoutError(msg)
        time.sleep(0.05)


def pg_bin(name: str) -> str:
    for directory in PG_BIN_DIRS:
        candidate = Path(directory) / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        msg = f"{name} not found (Debian package postgresql)"
        raise FileNotFoundError(msg)
    return found


class _Server:
    """`with server:` starts it and, whatever happens, stops it and deletes its data."""

    def start(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.close()


class OwnPostgres(_Server):
    """A Postgres cluster of its own: `start()`, `stop()`, `restart()`, `close()`.

    Trust authentication for user `postgres` on 127.0.0.1:`port` only; no fsync (its data is
    thrown away). `url` is the server URL the services take as `POSTGRES_URL`.
    """

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._root = Path(tempfile.mkdtemp(prefix="mercato-pg-"))
        self.data = self._root / "data"
        self.log = self._root / "postgres.log"
        self._user: str | None = None
        if os.geteuid() == 0:
            self._user = "postgres"
            entry = pwd.getpwnam(self._user)
            os.chown(self._root, entry.pw_uid, entry.pw_gid)
        self._run(
            [
                pg_bin("initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, command: Sequence[str], *, check: bool = True) -> None:
        if self._user is not None:
            command = ["runuser", "-u", self._user, "--", *command]
        subprocess.run(
            command, check=check, cwd=self._root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def _ctl(self, *args: str, check: bool = True) -> None:
        self._run([pg_bin("pg_ctl"), "-D", str(self.data), *args], check=check)

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self._root} "
            "-c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        self._ctl("-o", options, "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` (clients disconnected, clean) or `immediate` (a crash)."""
        self._ctl("-m", mode, "-w", "-t", "60", "stop", check=False)

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def close(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self._root, ignore_errors=True)


class OwnRedis(_Server):
    """A redis-server of its own that keeps nothing on disk: `start()`, `restart()`, `close()`."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="mercato-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            msg = "redis-server is not installed"
            raise FileNotFoundError(msg)
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(self._dir)]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        wait_until(lambda: port_open(self.port), _START_TIMEOUT, "redis-server start")

    def stop(self) -> None:
        """Kill it (SIGKILL): what it held is gone, as after a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)
