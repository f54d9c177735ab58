"""callgrind's per-thread dumps are read into instructions per thread (no valgrind run here)."""

from __future__ import annotations

from pathlib import Path

from bench.callgrind import thread_totals

DUMP = """# callgrind format
version: 1
creator: callgrind-3.19.0
pid: 4242
cmd:  python -m uvicorn catalog.main:create_app
part: 1
desc: Trigger: dump
events: Ir
summary: 0
totals: {total}
"""


def test_each_threads_dump_after_counting_is_read(tmp_path: Path) -> None:
    (tmp_path / "callgrind.out.4242.1-01").write_text(DUMP.format(total=1_298_000_000))
    (tmp_path / "callgrind.out.4242.1-02").write_text(DUMP.format(total=141_000_000))
    # The dump at exit (no suffix `.1`) is not the counted window.
    (tmp_path / "callgrind.out.4242-01").write_text(DUMP.format(total=5))
    assert thread_totals(tmp_path) == {1: 1_298_000_000, 2: 141_000_000}


def test_a_dump_without_totals_counts_zero(tmp_path: Path) -> None:
    (tmp_path / "callgrind.out.7.1-03").write_text("events: Ir\n")
    assert thread_totals(tmp_path) == {3: 0}
