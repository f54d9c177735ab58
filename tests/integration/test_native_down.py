"""`native down` stops every program, however long each one takes to stop.

A real supervisord runs three programs that each need 4 s to stop after their SIGTERM, as a
draining replica or a worker finishing its job does. Stopped one after another (supervisord's
own shutdown) they would outlast the 8 s `down` is given here, and `down` would then kill
supervisord with a program still running under it; stopped together they take 4 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from native.cli import down
from native.stack import Stack, load_stack
from native.supervisor import BIN, render_supervisord_config, supervisorctl, supervisord_pid

#: A program that takes 4 s to stop once asked to (one line: it becomes an INI value).
SLOW_TO_STOP = (
    "import signal, sys, time; "
    "signal.signal(signal.SIGTERM, lambda *_: (time.sleep(4), sys.exit(0))); "
    "signal.pause()"
)
PROGRAMS = [f"slow-{index}" for index in range(3)]
#: Safety bound for the programs to start (it ends a test that would hang; it decides nothing).
SAFETY_SECONDS = 60


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting for its parent to reap it has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _running_pids(stack: Stack) -> list[int]:
    """The programs' pids once supervisord reports all of them RUNNING."""
    argv = [str(BIN / "supervisorctl"), "-c", str(stack.conf), "status"]
    deadline = time.monotonic() + SAFETY_SECONDS
    while time.monotonic() < deadline:
        status = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
        lines = [line.split() for line in status.splitlines()]
        running = [words for words in lines if len(words) > 3 and words[1] == "RUNNING"]
        if len(running) == len(PROGRAMS):
            return [int(words[3].rstrip(",")) for words in running]
        time.sleep(0.5)
    raise AssertionError(f"the programs did not start:\n{status}")


def test_down_stops_every_program_before_supervisord(tmp_path: Path) -> None:
    stack = load_stack({"MERCATO_RUN_DIR": str(tmp_path / "run")})
    stack.logs.mkdir(parents=True)
    programs: dict[str, tuple[list[str], dict[str, str]]] = {
        name: ([sys.executable, "-c", SLOW_TO_STOP], {}) for name in PROGRAMS
    }
    stack.conf.write_text(render_supervisord_config(stack, programs))
    subprocess.run([str(BIN / "supervisord"), "-c", str(stack.conf)], check=True)
    pids: list[int] = []
    try:
        pids = _running_pids(stack)

        down(stack, timeout=8)

        assert supervisord_pid(stack) is None
        assert [pid for pid in pids if _alive(pid)] == []
    finally:
        if supervisord_pid(stack) is not None:
            supervisorctl(stack, "shutdown", check=False)
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
