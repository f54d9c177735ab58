"""What one `make bench` run measured: rows, targets, memory; as JSON and as Markdown."""

from __future__ import annotations

import json
import math
import os
import platform
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.wrk import WrkResult

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
README = ROOT / "bench" / "README.md"
START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"


@dataclass(frozen=True, slots=True)
class Row:
    """One measured load: a scenario under one variant, and what it is compared with."""

    scenario: str
    variant: str
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    requests: int
    errors: int
    cpu_us: float | None = None
    cpu_of: str = ""
    note: str = ""

    @classmethod
    def of(cls, scenario: str, variant: str, result: WrkResult, **extra: object) -> Row:
        return cls(
            scenario,
            variant,
            result.requests_per_second,
            result.p50_ms,
            result.p90_ms,
            result.p99_ms,
            result.requests,
            result.errors,
            **extra,  # type: ignore[arg-type]
        )


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    goal: str
    measured: str
    met: bool


@dataclass(frozen=True, slots=True)
class ProcessMemory:
    program: str
    pid: int
    command: str
    rss_kib: int
    pss_kib: int


@dataclass
class Run:
    quick: bool
    command: str
    started: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    rows: list[Row] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    memory: dict[str, list[ProcessMemory]] = field(default_factory=dict)
    # Drawings of the run (file name -> SVG text), written beside the results and, with
    # `publish`, beside bench/README.md.
    pictures: dict[str, str] = field(default_factory=dict)

    def machine(self) -> str:
        model = "unknown CPU"
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
            mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            mem_kib = 0
        return (
            f"{os.cpu_count()} CPUs ({model}), {mem_kib / 1024 / 1024:.0f} GiB, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
        )


def _ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1f}"


def markdown(run: Run) -> str:
    lines = [
        f"Run of {run.started} on {run.machine()}: `{run.command}`"
        + (" (the short version: fewer and shorter rounds)" if run.quick else "")
        + ".",
        "",
        "| scenario | variant | req/s | p50 ms | p90 ms | p99 ms | errors | CPU µs/req | note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in run.rows:
        cpu = f"{row.cpu_us:.0f} ({row.cpu_of})" if row.cpu_us is not None else ""
        lines.append(
            f"| {row.scenario} | {row.variant} | {row.rps:.0f} | {_ms(row.p50_ms)} | "
            f"{_ms(row.p90_ms)} | {_ms(row.p99_ms)} | {row.errors} | {cpu} | {row.note} |"
        )
    if run.targets:
        lines += ["", "| target | goal | measured | met |", "|---|---|---|---|"]
        lines += [
            f"| {t.name} | {t.goal} | {t.measured} | {'yes' if t.met else '**no**'} |"
            for t in run.targets
        ]
    for name in run.pictures:
        lines += ["", f"![{name.removesuffix('.svg')}]({name})"]
    for moment, processes in run.memory.items():
        rss = sum(p.rss_kib for p in processes) / 1024
        pss = sum(p.pss_kib for p in processes) / 1024
        lines += [
            "",
            f"Resident memory of the native stack, {moment}: {len(processes)} processes, "
            f"RSS {rss:.0f} MiB in all, PSS {pss:.0f} MiB (shared pages counted once).",
            "",
            "| program | processes | RSS MiB | PSS MiB |",
            "|---|---:|---:|---:|",
        ]
        by_program: dict[str, list[ProcessMemory]] = {}
        for process in processes:
            by_program.setdefault(process.program, []).append(process)
        for program, group in sorted(by_program.items()):
            lines.append(
                f"| {program} | {len(group)} | {sum(p.rss_kib for p in group) / 1024:.0f} | "
                f"{sum(p.pss_kib for p in group) / 1024:.0f} |"
            )
    return "\n".join(lines) + "\n"


def write(run: Run, *, publish: bool) -> Path:
    """Write the run as JSON and Markdown under bench/results/; with `publish`, also put the
    Markdown between the markers of bench/README.md (the current table)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = run.started.replace(" UTC", "").replace(" ", "T").replace(":", "")
    document = asdict(run) | {"machine": run.machine()}
    document.pop("pictures")
    path = RESULTS / f"bench-{stamp}.json"
    text = json.dumps(document, indent=2, default=str) + "\n"
    path.write_text(text, encoding="utf-8")
    (RESULTS / "latest.json").write_text(text, encoding="utf-8")
    table = markdown(run)
    (RESULTS / "latest.md").write_text(table, encoding="utf-8")
    for name, picture in run.pictures.items():
        (RESULTS / name).write_text(picture, encoding="utf-8")
        if publish:
            (README.parent / name).write_text(picture, encoding="utf-8")
    if publish:
        readme = README.read_text(encoding="utf-8")
        pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
        if not pattern.search(readme):
            msg = f"{README} has no {START} ... {END} markers"
            raise SystemExit(msg)
        README.write_text(pattern.sub(lambda _: f"{START}\n{table}{END}", readme), encoding="utf-8")
    return path
