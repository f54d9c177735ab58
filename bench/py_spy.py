"""The py-spy command line the profiling tools share: where py-spy is, and one recording."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Literal


def executable() -> str:
    """py-spy on PATH or beside this interpreter (`make deps` installs it)."""
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        msg = "py-spy is not installed (make deps)"
        raise SystemExit(msg)
    return found


def record(
    pid: int,
    output: Path,
    *,
    seconds: int,
    rate: int,
    children: bool,
    form: Literal["flamegraph", "speedscope"] = "flamegraph",
) -> list[str]:
    """The argv that records `pid` (and its children) for `seconds` into `output`, without
    pausing it (`--nonblocking`: the process runs as it would unobserved, at the price of a
    stack now and then read half way through a change)."""
    return [
        executable(),
        "record",
        *("--pid", str(pid), "--duration", str(seconds), "--rate", str(rate)),
        *(["--subprocesses"] if children else []),
        *("--format", form, "--output", str(output), "--nonblocking"),
    ]
