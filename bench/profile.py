"""`make profile SERVICE=catalog`: a flame graph of one service of the running stack.

It finds the service's first process in the stack `make up` runs (or the one MERCATO_RUN_DIR
names; with replicas, `NAME-1`), puts a bounded load with wrk straight on that process's main
path (not through the gateway, whose micro-cache would answer most reads), and records that
process and its children with py-spy for the same time, writing an SVG flame graph (or
speedscope JSON with --format speedscope) under bench/results/.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from bench import procs, wrk
from bench.results import RESULTS
from native.stack import Stack, load_stack

# The wrk script of each service's load, sent straight to the service (no path prefix).
LOADS: dict[str, str] = {"catalog": "product_reads.lua", "checkout": "quotes.lua"}


def process_pids(stack: Stack, program: str) -> list[int]:
    if not stack.conf.exists():
        msg = f"no stack runs from {stack.run_dir}: start one with `make up`"
        raise SystemExit(msg)
    result = subprocess.run(  # noqa: S603 - fixed argv: supervisorctl of this environment
        [str(Path(sys.executable).parent / "supervisorctl"), "-c", str(stack.conf), "pid", program],
        capture_output=True,
        text=True,
        check=False,
    )
    pid = result.stdout.strip()
    if not pid.isdigit() or pid == "0":
        msg = f"{program} is not running in {stack.run_dir} (`make ps`)"
        raise SystemExit(msg)
    return procs.tree(int(pid))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("service", choices=sorted(LOADS))
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--format", choices=["flamegraph", "speedscope"], default="flamegraph")
    args = parser.parse_args()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        msg = "py-spy is not installed (make deps)"
        raise SystemExit(msg)
    stack = load_stack()
    process = stack.first_replica(args.service)
    pids = process_pids(stack, process.program)
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "svg" if args.format == "flamegraph" else "speedscope.json"
    output = RESULTS / f"profile-{args.service}.{suffix}"
    load = threading.Thread(
        target=wrk.run,
        args=(f"http://127.0.0.1:{process.port}",),
        kwargs={
            "seconds": args.seconds + 2,
            "threads": 1,
            "connections": args.connections,
            "script": LOADS[args.service],
            "env": {"PATH_PREFIX": "", "PRODUCTS": "1000"},
        },
    )
    load.start()
    # py-spy follows one pid and, with --subprocesses, its children: the uvicorn main process.
    subprocess.run(  # noqa: S603 - fixed argv: py-spy of this environment
        [
            py_spy,
            "record",
            "--pid",
            str(pids[0]),
            "--subprocesses",
            "--duration",
            str(args.seconds),
            "--rate",
            "250",
            "--format",
            args.format,
            "--output",
            str(output),
            "--nonblocking",
        ],
        check=True,
    )
    load.join()
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
