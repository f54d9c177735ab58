"""`make profile SERVICE=catalog`: a flame graph of one service of the running stack.

It finds the service's processes in the stack `make up` runs (or the one MERCATO_RUN_DIR
names), puts a bounded load on the service's main read path through the gateway with wrk,
and records every process of the service with py-spy for the same time, writing an SVG flame
graph (or speedscope JSON with --format speedscope) under bench/results/.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import topology
from bench import procs, wrk
from bench.results import RESULTS
from bench.stacks import ROOT

# What the load asks of each service (wrk script and the path prefix it runs under).
LOADS: dict[str, tuple[str, str]] = {
    "catalog": ("product_reads.lua", "/api/catalog"),
    "checkout": ("quotes.lua", "/api/checkout"),
}


def service_pids(run_dir: Path, service: str) -> list[int]:
    conf = run_dir / "supervisord.conf"
    if not conf.exists():
        msg = f"no stack runs from {run_dir}: start one with `make up`"
        raise SystemExit(msg)
    result = subprocess.run(  # noqa: S603 - fixed argv: supervisorctl of this environment
        [str(Path(sys.executable).parent / "supervisorctl"), "-c", str(conf), "pid", service],
        capture_output=True,
        text=True,
        check=False,
    )
    pid = result.stdout.strip()
    if not pid.isdigit() or pid == "0":
        msg = f"{service} is not running in {run_dir} (`make ps`)"
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
    run_dir = Path(os.environ.get("MERCATO_RUN_DIR", ROOT / ".run" / "dev")).resolve()
    offset = int(os.environ.get("MERCATO_PORT_OFFSET", "0"))
    gateway = f"http://127.0.0.1:{topology.load().gateway.port + offset}"
    pids = service_pids(run_dir, args.service)
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "svg" if args.format == "flamegraph" else "speedscope.json"
    output = RESULTS / f"profile-{args.service}.{suffix}"
    script, prefix = LOADS[args.service]
    load = threading.Thread(
        target=wrk.run,
        args=(gateway,),
        kwargs={
            "seconds": args.seconds + 2,
            "threads": 1,
            "connections": args.connections,
            "script": script,
            "env": {"PATH_PREFIX": prefix, "PRODUCTS": "1000"},
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
