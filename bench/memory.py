"""Scenario (h): the resident memory of every process of a native stack."""

from __future__ import annotations

from bench import procs
from bench.results import ProcessMemory
from bench.stacks import BenchStack


def snapshot(stack: BenchStack) -> list[ProcessMemory]:
    """Every process: supervisord, and each program's main process and children."""
    found = []
    if (pid := stack.supervisord_pid()) is not None:
        rss, pss = procs.memory_kib(pid)
        found.append(ProcessMemory("supervisord", pid, procs.command_name(pid), rss, pss))
    for program in stack.programs():
        for pid in stack.program_pids(program):
            rss, pss = procs.memory_kib(pid)
            found.append(ProcessMemory(program, pid, procs.command_name(pid), rss, pss))
    return found
