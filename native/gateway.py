"""The native gateway's configuration: nginx.conf and mercato.conf rendered for this stack.

Both templates are rendered with `native.render` (the same substitution the nginx image does
for Docker). The native values of the gateway template: one upstream `server` line per
process of each routed service, with passive health checks (a process that refuses or
drops `GATEWAY_MAX_FAILS` connections within `GATEWAY_FAIL_TIMEOUT` is left out for that
long), and no `resolver` (every address is a literal 127.0.0.1).
"""

from __future__ import annotations

import grp
import os
import pwd

from native.env import ROOT
from native.render import render
from native.stack import Stack

GATEWAY_TEMPLATE = ROOT / "gateway" / "templates" / "mercato.conf.template"
MAIN_TEMPLATE = ROOT / "native" / "nginx.conf.template"


def server_lines(stack: Stack, name: str) -> str:
    """The `server ...;` lines of the routed service's upstream: one per process."""
    max_fails = stack.env.get("GATEWAY_MAX_FAILS", "1")
    fail_timeout = stack.env.get("GATEWAY_FAIL_TIMEOUT", "5s")
    return "\n    ".join(
        f"server 127.0.0.1:{replica.port} max_fails={max_fails} fail_timeout={fail_timeout};"
        for replica in stack.replicas(stack.description.service(name))
    )


def gateway_values(stack: Stack) -> dict[str, str]:
    """The values of the gateway template's variables on the native stack."""
    values = {
        "RUN_DIR": str(stack.run_dir),
        "GATEWAY_PORT": str(stack.gateway_port),
        "GATEWAY_ACCESS_LOG": str(stack.logs / "gateway-access.log"),
        "GATEWAY_RATE_LIMIT": stack.env.get("GATEWAY_RATE_LIMIT", "100"),
        "GATEWAY_RATE_BURST": stack.env.get("GATEWAY_RATE_BURST", "200"),
        "GATEWAY_MAX_BODY": stack.env.get("GATEWAY_MAX_BODY", "1m"),
        "GATEWAY_RESOLVER": "",
    }
    for service in stack.description.routed:
        values[f"{service.name.upper()}_SERVERS"] = server_lines(stack, service.name)
    return values


def nginx_user_directive(uid: int, user: str, group: str) -> str:
    """nginx's `user` line: the starting user when that is root, else none.

    A root master otherwise runs its workers as the compiled-in `nobody`, who cannot enter a
    checkout below a directory only root may enter, so request bodies spilled to
    client_body_temp fail with a 500. For any other user nginx ignores the directive.
    """
    return f"user {user} {group};" if uid == 0 else ""


def error_log(stack: Stack) -> str:
    return str(stack.logs / "gateway-error.log")


def write_gateway_config(stack: Stack) -> None:
    """Render nginx.conf and mercato.conf into the stack's nginx directory."""
    stack.nginx_dir.mkdir(parents=True, exist_ok=True)
    uid, gid = os.geteuid(), os.getegid()
    values = gateway_values(stack) | {
        "GATEWAY_ERROR_LOG": error_log(stack),
        "NGINX_USER_DIRECTIVE": nginx_user_directive(
            uid, pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name
        ),
    }
    for source, target in (
        (MAIN_TEMPLATE, stack.nginx_dir / "nginx.conf"),
        (GATEWAY_TEMPLATE, stack.nginx_dir / "mercato.conf"),
    ):
        target.write_text(render(source.read_text(), values))
