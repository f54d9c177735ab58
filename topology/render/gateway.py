"""The gateway's per-service parts, rendered from stack.toml.

gateway/templates/mercato.conf.template (hand-written: maps, limits, headers, error pages)
includes two rendered templates, rendered in turn like it by the nginx image (envsubst) and
by the native stack (native/render.py):

* upstreams.conf.template (http level): one upstream per routed service, its servers left
  to the runtime as NAME_SERVERS, and the map that sends a refused method's 405 page to the
  service that owns the path;
* routes.conf.template (server level): the location of each service's prefix /api/NAME/.

NAME_SERVERS is the one part that differs between runtimes: the native stack writes one
`server` line per replica (native/gateway.py), the Docker image takes its defaults from the
rendered gateway/upstream-servers.envsh (one line per compose service, re-resolved through
Docker's DNS), and Kubernetes sets it in the gateway's ConfigMap.
"""

from __future__ import annotations

from topology.description import Service, Stack
from topology.render import notice

UPSTREAMS = "gateway/templates/upstreams.conf.template"
ROUTES = "gateway/templates/routes.conf.template"
DOCKER_SERVERS = "gateway/upstream-servers.envsh"

#: Passive health checks of every upstream server: a server that fails this many
#: connections (refused, reset, timed out) within the timeout is skipped for that long.
MAX_FAILS, FAIL_TIMEOUT = "3", "10s"

#: Directives a service's location adds to the proxying every location inherits.
#: Catalog reads are public: the micro-cache answers repeated ones for as long as the
#: service's `Cache-Control: public, max-age=N` allows (PUBLIC_MAX_AGE_SECONDS; responses
#: without it, errors and writes, are never stored). One request per key reaches the service
#: (proxy_cache_lock) while the others wait for it, and once a copy has expired one request
#: refreshes it while the others get the old copy (use_stale updating). A read is therefore
#: at most max-age plus one second (nginx keeps a copy's expiry in whole seconds) plus one
#: refresh old. That is safe for a catalog: an order never trusts a read, it re-checks stock
#: and price in its own transaction (catalog's reservations). Requests with credentials or a
#: trace to continue (traceparent) always reach the service. X-Cache-Status says HIT, MISS,
#: EXPIRED, UPDATING or BYPASS. GATEWAY_READ_CACHE=off turns it off.
LOCATION_DIRECTIVES: dict[str, tuple[str, ...]] = {
    "catalog": (
        "proxy_cache ${GATEWAY_READ_CACHE};",
        "proxy_cache_lock on;",
        "proxy_cache_lock_timeout 5s;",
        "proxy_cache_use_stale updating;",
        "proxy_cache_bypass $http_authorization $http_traceparent;",
        "proxy_no_cache $http_authorization $http_traceparent;",
    ),
}


def servers_variable(service: Service) -> str:
    """The template variable holding the `server` lines of the service's upstream."""
    return f"{service.name.upper()}_SERVERS"


def server_line(
    address: str,
    service: Service,
    *,
    resolve: bool = False,
    max_fails: str = MAX_FAILS,
    fail_timeout: str = FAIL_TIMEOUT,
) -> str:
    """One `server` line of the service's upstream: at most its `max_in_flight` requests at
    once; `resolve` re-resolves a name (Docker's DNS) while nginx runs."""
    flags = " resolve" if resolve else ""
    return (
        f"server {address}{flags} max_conns={service.max_in_flight} "
        f"max_fails={max_fails} fail_timeout={fail_timeout};"
    )


def _upstream(service: Service) -> str:
    return (
        f"upstream {service.name} {{\n"
        f"    zone {service.name} 64k;\n"
        f"    ${{{servers_variable(service)}}}\n"
        "    keepalive 32;\n"
        "    keepalive_timeout 4s;\n"
        "}\n"
    )


def upstreams(stack: Stack) -> str:
    names = "|".join(service.name for service in stack.routed)
    # The path pattern: segments of plain characters, no dot segment, no empty segment
    # (mercato.conf.template says why the 405 page asks the service only then).
    segment = r"(?!\.\.?(?:/|\?| ))[A-Za-z0-9._~!&()*+,;=:@-]+"
    request = (
        rf"~^[A-Z_-]+ /api/(?<mercato_405_service>{names})"
        rf"(?:/(?:{segment}(?:/{segment})*/?)?)?(?:\?[^ #]*)? HTTP/1\.[01]$"
    )
    return (
        notice()
        + "# Included by mercato.conf.template at the http level: the upstream of each routed\n"
        "# service (its servers: the runtime's NAME_SERVERS), and the routed services a refused\n"
        "# method's 405 page may ask for their Allow.\n\n"
        + "\n".join(_upstream(service) for service in stack.routed)
        + "\nmap $request $mercato_405_upstream {\n"
        f'    "{request}"  $mercato_405_service;\n'
        '    default  "";\n'
        "}\n"
    )


def _location(service: Service) -> str:
    prefix = service.root_path
    directives = LOCATION_DIRECTIVES.get(service.name, ())
    if directives:
        body = "".join(f"        {line}\n" for line in directives)
        location = (
            f"location {prefix}/ {{\n        proxy_pass http://{service.name}/;\n{body}    }}\n"
        )
    else:
        location = f"location {prefix}/ {{ proxy_pass http://{service.name}/; }}\n"
    return f"    {location}    location = {prefix} {{ proxy_pass http://{service.name}/; }}\n"


def routes(stack: Stack) -> str:
    return (
        notice() + "# Included by mercato.conf.template in its server: each routed service under\n"
        "# /api/NAME/, the prefix stripped (/api/catalog/products reaches catalog as /products);\n"
        "# the exact prefix is the app's / (no redirect). Catalog's reads are micro-cached\n"
        "# (topology/render/gateway.py says how long and for whom).\n"
        + "".join(_location(service) for service in stack.routed)
    )


def docker_servers(stack: Stack) -> str:
    """The nginx image's entrypoint sources this before it renders the templates: each
    NAME_SERVERS not set by the environment is the compose service of that name."""
    lines = [
        "#!/bin/sh",
        notice().rstrip("\n"),
        "# Sourced by the nginx image's entrypoint before it renders the templates: the servers",
        "# of each upstream unless the environment sets them (Kubernetes does), the compose",
        "# service of that name, re-resolved through Docker's DNS (GATEWAY_RESOLVER).",
    ]
    for service in stack.routed:
        variable = servers_variable(service)
        line = server_line(f"{service.name}:{service.port}", service, resolve=True)
        lines += [f': "${{{variable}:={line}}}"', f"export {variable}"]
    return "\n".join(lines) + "\n"


def files(stack: Stack) -> dict[str, str]:
    return {
        UPSTREAMS: upstreams(stack),
        ROUTES: routes(stack),
        DOCKER_SERVERS: docker_servers(stack),
    }
