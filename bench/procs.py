"""What the kernel says about a process tree: its pids, CPU time and memory (from /proc)."""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def children(pid: int) -> list[int]:
    """Every descendant of `pid` (children, grandchildren, ...), alive now."""
    parents: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        for child in parents.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def tree(pid: int) -> list[int]:
    return [pid, *children(pid)]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far (gone ones count 0)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        if (fields := _stat_fields(pid)) is not None:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def pin(pids: list[int], cpu: int) -> None:
    """Keep every thread of each process on `cpu` (threads started later inherit it)."""
    for pid in pids:
        with suppress(OSError):
            for task in (PROC / str(pid) / "task").iterdir():
                with suppress(OSError):  # a thread that has just ended
                    os.sched_setaffinity(int(task.name), {cpu})


def memory_kib(pid: int) -> tuple[int, int]:
    """Resident set size and proportional set size (shared pages divided among sharers)."""
    rss = pss = 0
    with suppress(OSError):
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    return rss, pss


def command_name(pid: int) -> str:
    try:
        argv = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [Path(a.decode(errors="replace")).name for a in argv if a][:3]
    return " ".join(words)
