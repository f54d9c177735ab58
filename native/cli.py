"""`python -m native up|down|ps|logs|config`: Mercato as local processes under supervisord.

`up` checks that Postgres and Redis answer, migrates and seeds each service's database,
renders the gateway and supervisord configuration into the run directory, starts
supervisord (a running stack is stopped first: programs inherit supervisord's environment),
waits until every process is ready, and prints the URLs. `down` stops every program at
once, then supervisord (`native.supervisor.stop_supervisord`). See docs/native-stack.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from native.exposure import exposure_warning
from native.gateway import write_gateway_config
from native.prepare import prepare_databases
from native.probe import DependencyUnreachableError, check_dependencies
from native.ready import wait_ready
from native.stack import Stack, StackConfigError, load_stack
from native.supervisor import (
    start_supervisord,
    stop_supervisord,
    supervisorctl,
    supervisord_config,
    supervisord_pid,
)


def up(stack: Stack, *, timeout: float) -> None:
    if supervisord_pid(stack) is not None:
        print("Mercato is running; restarting it with the current configuration")
        down(stack)
    stack.logs.mkdir(parents=True, exist_ok=True)
    try:
        check_dependencies(stack.env)
    except DependencyUnreachableError as exc:
        sys.stderr.write(f"{exc}\nStart them (see README, 'Requirements') and run again.\n")
        raise SystemExit(1) from exc
    warning = exposure_warning(stack)
    if warning:
        sys.stderr.write(f"{warning}\n")
    prepare_databases(stack)
    write_gateway_config(stack)
    start_supervisord(stack)
    wait_ready(stack, timeout)
    url = stack.gateway_url()
    print(f"\nMercato is up (supervisord pid {supervisord_pid(stack)}, run dir {stack.run_dir})")
    print(f"  gateway         {url}/healthz")
    for service in stack.description.routed:
        print(f"  {service.name:<15} {url}{service.root_path}/docs")
    if warning:  # again, last, where it cannot scroll out of sight
        sys.stderr.write(f"\n{warning}\n")


def down(stack: Stack, *, timeout: float = 30) -> None:
    if supervisord_pid(stack) is None:
        print("Mercato is not running")
        return
    stop_supervisord(stack, timeout=timeout)
    print("Mercato is down")


def ps(stack: Stack) -> None:
    if supervisord_pid(stack) is None:
        print("Mercato is not running")
    else:
        supervisorctl(stack, "status", check=False)


def logs(stack: Stack, *, lines: int, follow: bool) -> None:
    files = sorted(str(path) for path in stack.logs.glob("*.log"))
    if not files:
        print("no logs yet")
        return
    argv = ["tail", f"-n{lines}", *(["-F"] if follow else []), *files]
    subprocess.run(argv, check=False)


def parser() -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(prog="python -m native", description=__doc__)
    sub = result.add_subparsers(dest="command", required=True)
    up_parser = sub.add_parser("up", help="migrate, seed, start and wait until ready")
    up_parser.add_argument("--timeout", type=float, default=90)
    sub.add_parser("down", help="stop every process of the stack")
    sub.add_parser("ps", help="show the state of each process")
    logs_parser = sub.add_parser("logs", help="show the logs of each process")
    logs_parser.add_argument("-n", "--lines", type=int, default=40)
    logs_parser.add_argument("-f", "--follow", action="store_true")
    sub.add_parser("config", help="print the supervisord configuration")
    return result


def main() -> None:
    args = parser().parse_args()
    try:
        stack = load_stack()
        stack.check_ports()
    except StackConfigError as exc:
        sys.stderr.write(f"{exc}\n")
        raise SystemExit(2) from exc
    if args.command == "up":
        up(stack, timeout=args.timeout)
    elif args.command == "down":
        down(stack)
    elif args.command == "ps":
        ps(stack)
    elif args.command == "logs":
        logs(stack, lines=args.lines, follow=args.follow)
    else:
        print(supervisord_config(stack), end="")
