"""The short `make chaos`: every fault once, a few seconds apart, every invariant held.

It runs its own Postgres, Redis and native stack (`python -m chaos`, port offset 26000 so it
never meets the e2e stack or a developer's), and exits non-zero on any broken invariant.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_short_chaos_run_keeps_every_invariant(tmp_path: Path) -> None:
    log = tmp_path / "chaos.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "chaos", "--spacing", "8", "--port-offset", "26000"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            returncode = process.wait(timeout=600)
        except subprocess.TimeoutExpired:
            process.terminate()  # chaos stops its stack and servers on SIGTERM
            returncode = process.wait(timeout=120)
    output = log.read_text()
    print(output[-4000:])
    assert returncode == 0, output[-8000:]
    assert "every invariant held" in output
