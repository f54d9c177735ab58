"""The native gateway's configuration: nginx.conf and the gateway's templates rendered for
this stack.

Every template is rendered with `native.render` (the same substitution the nginx image does
for Docker): nginx.conf into the stack's nginx directory, gateway/templates/*.template into
its conf.d/ (as the image does). The native values of the gateway templates: one upstream
`server` line per process of each routed service, with passive health checks (a process
that refuses or drops `GATEWAY_MAX_FAILS` connections within `GATEWAY_FAIL_TIMEOUT` is left
out for that long), and no `resolver` (every address is a literal 127.0.0.1).
"""

from __future__ import annotations

import grp
import math
import os
import pwd
from collections.abc import Mapping
from pathlib import Path

from native.env import ROOT
from native.render import render
from native.stack import Stack
from topology.render.gateway import FAIL_TIMEOUT, MAX_FAILS, server_line, servers_variable

GATEWAY_TEMPLATES = ROOT / "gateway" / "templates"
GATEWAY_TEMPLATE = GATEWAY_TEMPLATES / "mercato.conf.template"
STREAM_TEMPLATE = GATEWAY_TEMPLATES / "stream.conf.template"
#: Where Debian's libnginx-mod-stream puts the stream module (nginx-light lacks it built in).
DEBIAN_STREAM_MODULE = Path("/usr/lib/nginx/modules/ngx_stream_module.so")
MAIN_TEMPLATE = ROOT / "native" / "nginx.conf.template"

#: The gateway's limits and their native defaults (docs/gateway.md has the table).
GATEWAY_LIMITS = {
    "GATEWAY_RATE_LIMIT": "100",
    "GATEWAY_RATE_BURST": "200",
    "GATEWAY_AUTH_RATE_PER_MINUTE": "30",
    "GATEWAY_AUTH_RATE_BURST": "10",
    "GATEWAY_CONN_LIMIT": "16",
    "GATEWAY_ADDRESS_CONN_LIMIT": "256",
    "GATEWAY_CLIENT_TIMEOUT": "10s",
    "GATEWAY_MAX_BODY": "1m",
    "GATEWAY_CORS_ORIGINS": "",
    "GATEWAY_READ_CACHE": "mercato_reads",
}


def server_lines(stack: Stack, name: str) -> str:
    """The `server ...;` lines of the routed service's upstream: one per process."""
    service = stack.description.service(name)
    return "\n    ".join(
        server_line(
            f"127.0.0.1:{replica.port}",
            service,
            max_fails=stack.env.get("GATEWAY_MAX_FAILS", MAX_FAILS),
            fail_timeout=stack.env.get("GATEWAY_FAIL_TIMEOUT", FAIL_TIMEOUT),
        )
        for replica in stack.replicas(service)
    )


def auth_retry_after(per_minute: str) -> str:
    """Seconds in which the token and registration rate admits one more request (rounded up)."""
    return str(math.ceil(60 / int(per_minute)))


def gateway_values(stack: Stack) -> dict[str, str]:
    """The values of the gateway template's variables on the native stack."""
    values = {
        "RUN_DIR": str(stack.run_dir),
        "GATEWAY_LISTEN": stack.gateway_listen,
        "GATEWAY_PORT": str(stack.gateway_port),
        "GATEWAY_HTTP_SOCKET": str(stack.nginx_dir / "http.sock"),
        "GATEWAY_ACCESS_LOG": str(stack.logs / "gateway-access.log"),
        # Loopback addresses never change: nothing to re-resolve.
        "GATEWAY_RESOLVER": "",
    }
    values |= {name: stack.env.get(name, default) for name, default in GATEWAY_LIMITS.items()}
    values["GATEWAY_AUTH_RETRY_AFTER"] = auth_retry_after(values["GATEWAY_AUTH_RATE_PER_MINUTE"])
    for service in stack.description.routed:
        values[servers_variable(service)] = server_lines(stack, service.name)
    return values


def nginx_user_directive(uid: int, user: str, group: str) -> str:
    """nginx's `user` line: the starting user when that is root, else none.

    A root master otherwise runs its workers as the compiled-in `nobody`, who cannot enter a
    checkout below a directory only root may enter, so request bodies spilled to
    client_body_temp fail with a 500. For any other user nginx ignores the directive.
    """
    return f"user {user} {group};" if uid == 0 else ""


def stream_module_directive(module: Path = DEBIAN_STREAM_MODULE) -> str:
    """`load_module` of Debian's dynamic stream module when it is installed, else nothing
    (an nginx with the module built in; one with neither fails `nginx -t` on `stream`)."""
    return f"load_module {module};" if module.exists() else ""


def error_log(stack: Stack) -> str:
    return str(stack.logs / "gateway-error.log")


def write_gateway_config(stack: Stack, overrides: Mapping[str, str] | None = None) -> None:
    """Render nginx.conf into the stack's nginx directory and the gateway's templates into
    its conf.d/ (`overrides` replace values)."""
    conf_d = stack.nginx_dir / "conf.d"
    conf_d.mkdir(parents=True, exist_ok=True)
    uid, gid = os.geteuid(), os.getegid()
    values = (
        gateway_values(stack)
        | dict(overrides or {})
        | {
            "GATEWAY_ERROR_LOG": error_log(stack),
            "NGINX_USER_DIRECTIVE": nginx_user_directive(
                uid, pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name
            ),
            "NGINX_STREAM_MODULE": stream_module_directive(),
        }
    )
    targets = {MAIN_TEMPLATE: stack.nginx_dir / "nginx.conf"} | {
        template: conf_d / template.name.removesuffix(".template")
        for template in sorted(GATEWAY_TEMPLATES.glob("*.template"))
    }
    for source, target in targets.items():
        target.write_text(render(source.read_text(), values))
