"""The supervisord side of the native stack: its configuration, its pid, supervisorctl.

The configuration is an INI file written with configparser: one `[program:NAME]` per
process (each replica of a service, each worker, the gateway), all with the same restart
and stop policy (`PROGRAM_DEFAULTS`).
"""

from __future__ import annotations

import configparser
import io
import os
import pwd
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from native.env import ROOT
from native.gateway import error_log
from native.stack import LOOPBACK, Replica, Stack

BIN = Path(sys.executable).parent

#: Every program: restarted when it exits, stopped with its whole process group. A service
#: gets less time to finish its requests (mercato_shared.serve) than the 15 s before the kill.
PROGRAM_DEFAULTS = {
    "stdout_logfile_maxbytes": "20MB",
    "stdout_logfile_backups": "2",
    "redirect_stderr": "true",
    "autostart": "true",
    "autorestart": "true",
    "startsecs": "2",
    "stopwaitsecs": "15",
    "stopasgroup": "true",
    "killasgroup": "true",
}


def serve_environment(replica: Replica, stack: Stack) -> dict[str, str]:
    """The environment `python -m mercato_shared.serve` runs the replica with."""
    return {
        "MERCATO_SERVICE": replica.service.name,
        "HOST": LOOPBACK,
        "PORT": str(replica.port),
        "SERVICE_WORKERS": stack.env.get("SERVICE_WORKERS", "1"),
    }


def nginx_command(stack: Stack) -> list[str]:
    """nginx in the foreground, after removing the HTTP server's socket a killed nginx may
    have left behind (nginx does not, and could not bind it again)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    conf = stack.nginx_dir / "nginx.conf"
    socket = stack.nginx_dir / "http.sock"
    argv = [nginx, "-p", str(stack.nginx_dir), "-c", str(conf), "-e", error_log(stack)]
    return ["/bin/sh", "-c", 'rm -f -- "$0" && exec "$@"', str(socket), *argv]


def programs(stack: Stack) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Each program's argv and its own environment (on top of supervisord's)."""
    result: dict[str, tuple[list[str], dict[str, str]]] = {}
    for replica in stack.processes:
        env = {"OTEL_SERVICE_NAME": replica.service.name} | serve_environment(replica, stack)
        if len(stack.replicas(replica.service)) > 1:
            # Out of the gateway's upstream before the server closes (mercato_shared.drain).
            env["SHUTDOWN_DRAIN_SECONDS"] = stack.env.get("MERCATO_DRAIN_SECONDS", "5")
        result[replica.program] = ([sys.executable, "-m", "mercato_shared.serve"], env)
    for worker in stack.description.workers:
        argv = [str(BIN / worker.command[0]), *worker.command[1:]]
        result[worker.name] = (argv, {"OTEL_SERVICE_NAME": worker.name})
    result["gateway"] = (nginx_command(stack), {"OTEL_SERVICE_NAME": "gateway"})
    return result


def _environment(values: Mapping[str, str]) -> str:
    return ",".join(f'{key}="{value}"' for key, value in values.items())


def supervisord_config(stack: Stack) -> str:
    return render_supervisord_config(stack, programs(stack))


def render_supervisord_config(
    stack: Stack, programs: Mapping[str, tuple[list[str], Mapping[str, str]]]
) -> str:
    """supervisord's configuration for `programs` (name: argv and own environment)."""
    sock = stack.run_dir / "supervisor.sock"
    config = configparser.ConfigParser(interpolation=None)
    config.optionxform = str  # type: ignore[assignment,method-assign]  # keys as written
    config["unix_http_server"] = {"file": str(sock), "chmod": "0700"}
    config["supervisord"] = {
        "logfile": str(stack.logs / "supervisord.log"),
        "pidfile": str(stack.pidfile),
        "childlogdir": str(stack.logs),
        "directory": str(ROOT),
        "user": pwd.getpwuid(os.geteuid()).pw_name,
    }
    config["rpcinterface:supervisor"] = {
        "supervisor.rpcinterface_factory": "supervisor.rpcinterface:make_main_rpcinterface"
    }
    config["supervisorctl"] = {"serverurl": f"unix://{sock}"}
    for name, (argv, environment) in programs.items():
        config[f"program:{name}"] = {
            "command": shlex.join(argv),
            "directory": str(ROOT),
            "environment": _environment(environment),
            "stdout_logfile": str(stack.logs / f"{name}.log"),
            **PROGRAM_DEFAULTS,
        }
    text = io.StringIO()
    config.write(text)
    return text.getvalue()


def supervisord_pid(stack: Stack) -> int | None:
    try:
        pid = int(stack.pidfile.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid


def start_supervisord(stack: Stack) -> None:
    stack.conf.write_text(supervisord_config(stack))
    subprocess.run(
        [str(BIN / "supervisord"), "-c", str(stack.conf)], cwd=ROOT, env=stack.env, check=True
    )


def stop_supervisord(stack: Stack, *, timeout: float) -> None:
    """Stop every program at once, then supervisord; SIGKILL it if it outlives `timeout`.

    supervisord's own shutdown stops its programs one after another, each for as long as it
    takes (a replica's drain, a worker finishing its job, up to stopwaitsecs): on a busy
    machine the sum outlasted the wait, and killing supervisord then left the programs it
    had not reached running, holding their ports. `stop all` signals every program at the
    same moment, so the whole stop takes as long as the slowest program.
    """
    pid = supervisord_pid(stack)
    if pid is None:
        return
    supervisorctl(stack, "stop", "all", check=False)
    supervisorctl(stack, "shutdown", check=False)
    deadline = time.monotonic() + timeout
    while supervisord_pid(stack) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    if supervisord_pid(stack) is not None:
        os.kill(pid, signal.SIGKILL)


def supervisorctl(stack: Stack, *args: str, check: bool = True) -> int:
    argv: Sequence[str] = [str(BIN / "supervisorctl"), "-c", str(stack.conf), *args]
    return subprocess.run(argv, cwd=ROOT, env=stack.env, check=check).returncode
