"""Static checks of the gateway configuration and of the template renderer.

No network and no running stack: the templates are rendered into a temporary directory
and checked with ``nginx -t``, which parses the whole configuration, opens its log files
and resolves its upstream addresses, but serves nothing.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest
import yaml

import topology
from mercato_shared.app import create_app
from mercato_shared.docs_pages import ASSETS_PATH
from mercato_shared.settings import BaseServiceSettings
from native.gateway import (
    GATEWAY_LIMITS,
    auth_retry_after,
    gateway_values,
    stream_module_directive,
    write_gateway_config,
)
from native.render import PLACEHOLDER, render
from native.stack import load_stack
from native.supervisor import programs

REPO = Path(__file__).resolve().parents[2]
GATEWAY_TEMPLATE = REPO / "gateway" / "templates" / "mercato.conf.template"
STREAM_TEMPLATE = REPO / "gateway" / "templates" / "stream.conf.template"
NATIVE_MAIN_TEMPLATE = REPO / "native" / "nginx.conf.template"
DOCKER_MAIN_CONF = REPO / "gateway" / "nginx.conf"
DOCKERFILE = REPO / "gateway" / "Dockerfile"
COMPOSE_FILE = REPO / "docker-compose.yml"

ROUTED = [service for service in topology.load().services if service.routed]
SERVICES = tuple(service.name for service in ROUTED)
GATEWAY_VARIABLES = {
    "GATEWAY_LISTEN",
    "GATEWAY_PORT",
    "GATEWAY_HTTP_SOCKET",
    "GATEWAY_ADDRESS_CONN_LIMIT",
    "GATEWAY_RESOLVER",
    *(f"{name.upper()}_SERVERS" for name in SERVICES),
    "GATEWAY_ACCESS_LOG",
    "GATEWAY_RATE_LIMIT",
    "GATEWAY_RATE_BURST",
    "GATEWAY_AUTH_RATE_PER_MINUTE",
    "GATEWAY_AUTH_RATE_BURST",
    "GATEWAY_AUTH_RETRY_AFTER",
    "GATEWAY_CONN_LIMIT",
    "GATEWAY_CLIENT_TIMEOUT",
    "GATEWAY_MAX_BODY",
    "GATEWAY_READ_CACHE",
    "GATEWAY_CORS_ORIGINS",
}
ERROR_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "rate_limited",
    431: "request_header_too_large",
    500: "internal_error",
    502: "upstream_unavailable",
    503: "service_unavailable",
    504: "gateway_timeout",
}
#: Pages sent with another status: a service nginx could not use is a 503 (Retry-After).
SENT_AS = {502: 503}


def _nginx() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        pytest.skip("nginx is not installed, so `nginx -t` cannot check the gateway config")
    return found


def _gateway_env(run_dir: Path) -> dict[str, str]:
    """The native stack's own values (native.gateway.gateway_values), on ports nobody uses."""
    stack = load_stack({"MERCATO_RUN_DIR": str(run_dir), "MERCATO_PORT_OFFSET": "17000"})
    return gateway_values(stack) | {"GATEWAY_ACCESS_LOG": str(run_dir / "gateway-access.log")}


def dockerfile_env(text: str) -> dict[str, str]:
    """The variables the Dockerfile's ENV instructions define (KEY=VALUE form, quoted)."""
    joined = re.sub(r"\\\n", " ", text)
    env: dict[str, str] = {}
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "ENV":
            for word in words[1:]:
                key, _, value = word.partition("=")
                env[key] = value
    return env


def compose_gateway_env() -> dict[str, str]:
    """The gateway's environment in docker-compose.yml, interpolated with defaults only."""
    compose = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    environment: Mapping[str, object] = compose["services"]["gateway"]["environment"]
    default = re.compile(r"\$\{[A-Z_][A-Z0-9_]*:-([^}]*)\}")
    return {
        key: default.sub(lambda m: m.group(1), str(value)) for key, value in environment.items()
    }


def docker_env() -> dict[str, str]:
    """What the image's envsubst sees under compose: the Dockerfile's ENV, then compose's."""
    return dockerfile_env(DOCKERFILE.read_text(encoding="utf-8")) | compose_gateway_env()


def upstream_blocks(conf: str) -> dict[str, str]:
    return {
        match.group("name"): match.group("body")
        for match in re.finditer(r"^upstream (?P<name>\w+) \{(?P<body>[^}]*)\}", conf, re.M)
    }


def upstreams_that_cannot_reresolve(conf: str) -> list[str]:
    """Every reason a rendered config's upstreams would keep the addresses of their start.

    nginx (>= 1.27.3) re-resolves a `server` name only with the `resolve` parameter, in an
    upstream with a shared-memory `zone`, and with a `resolver` to ask (http or upstream
    level).
    """
    problems = []
    outside = re.sub(r"^upstream \w+ \{[^}]*\}", "", conf, flags=re.M)
    has_resolver = re.search(r"^\s*resolver\s+\S+", outside, re.M) is not None
    blocks = upstream_blocks(conf)
    if not blocks:
        problems.append("no upstream blocks")
    for name, body in blocks.items():
        if not re.search(r"^\s*zone\s+\S+", body, re.M):
            problems.append(f"{name}: no zone")
        if not (has_resolver or re.search(r"^\s*resolver\s+\S+", body, re.M)):
            problems.append(f"{name}: no resolver")
        servers = re.findall(r"^\s*server\s+([^;]*);", body, re.M)
        if not servers:
            problems.append(f"{name}: no server")
        problems.extend(
            f"{name}: server {server.split()[0]} is resolved once"
            for server in servers
            if "resolve" not in server.split()[1:]
        )
    return problems


def _nginx_test(main_conf: Path, prefix: Path) -> None:
    result = subprocess.run(
        [_nginx(), "-t", "-p", str(prefix), "-c", str(main_conf)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "test is successful" in output, output
    assert "[emerg]" not in output, output
    assert "[warn]" not in output, output


# --- render() --------------------------------------------------------------------------


def test_render_substitutes_defined_variables() -> None:
    template = "listen ${GATEWAY_PORT};\n${CATALOG_SERVERS} # ${GATEWAY_PORT}\n"
    env = {"GATEWAY_PORT": "8080", "CATALOG_SERVERS": "server catalog:8002;", "UNUSED": "x"}

    assert render(template, env) == "listen 8080;\nserver catalog:8002; # 8080\n"


def test_render_leaves_nginx_variables_alone() -> None:
    template = 'add_header X-Request-ID $request_id always; "$host" ${lower_case} $$ ${PORT}'

    rendered = render(template, {"PORT": "1"})

    assert rendered == 'add_header X-Request-ID $request_id always; "$host" ${lower_case} $$ 1'


def test_render_is_a_single_pass() -> None:
    assert render("${A}", {"A": "${B}"}) == "${B}"


def test_render_raises_listing_every_missing_variable() -> None:
    with pytest.raises(ValueError, match="GATEWAY_PORT, RUN_DIR") as excinfo:
        render("${RUN_DIR} ${GATEWAY_PORT} ${RUN_DIR} ${DEFINED}", {"DEFINED": "1"})

    assert "DEFINED" not in str(excinfo.value)


def test_render_empty_value_is_defined() -> None:
    assert render("a${X}b", {"X": ""}) == "ab"


# --- the templates ---------------------------------------------------------------------


def test_gateway_template_uses_exactly_the_documented_variables() -> None:
    text = GATEWAY_TEMPLATE.read_text(encoding="utf-8") + STREAM_TEMPLATE.read_text("utf-8")

    assert set(PLACEHOLDER.findall(text)) == GATEWAY_VARIABLES


NATIVE_MAIN_VARIABLES = {
    "RUN_DIR",
    "GATEWAY_ERROR_LOG",
    "NGINX_USER_DIRECTIVE",
    "NGINX_STREAM_MODULE",
}


def test_native_main_template_uses_exactly_its_variables() -> None:
    text = NATIVE_MAIN_TEMPLATE.read_text(encoding="utf-8")

    assert set(PLACEHOLDER.findall(text)) == NATIVE_MAIN_VARIABLES
    assert re.search(r"^daemon off;", text, re.MULTILINE)


@pytest.mark.parametrize("path", [GATEWAY_TEMPLATE, STREAM_TEMPLATE, NATIVE_MAIN_TEMPLATE])
def test_templates_have_no_bare_upper_case_dollar_names(path: Path) -> None:
    # The nginx image's envsubst also replaces "$NAME" (no braces) for every variable in
    # the container's environment (PATH, HOSTNAME, ...); render() does not. A bare
    # upper-case name would render differently in Docker and natively.
    assert re.findall(r"\$[A-Z_]", path.read_text(encoding="utf-8")) == []


def test_dockerfile_defines_every_gateway_variable() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")

    assert set(dockerfile_env(text)) >= GATEWAY_VARIABLES
    assert "COPY templates/mercato.conf.template /etc/nginx/templates/" in text
    assert "HEALTHCHECK" in text
    # The image's nginx must know `server ... resolve` (open source since 1.27.3).
    version = re.search(r"^FROM nginxinc/nginx-unprivileged:(\d+)\.(\d+)\.(\d+)", text, re.M)
    assert version, "pinned nginx-unprivileged base image"
    assert tuple(map(int, version.groups())) >= (1, 27, 3)


@pytest.mark.parametrize("per_minute", ["1", "7", "30", "59", "60", "61", "6000"])
def test_both_renderers_derive_the_auth_retry_after_from_the_auth_rate(per_minute: str) -> None:
    """A 429 of the token and registration zone says when that zone admits one more request:
    the native renderer and the image's entrypoint script compute the same number."""
    script = REPO / "gateway" / "retry-after.envsh"
    sourced = subprocess.run(
        ["sh", "-c", f'. "{script}"; printf %s "$GATEWAY_AUTH_RETRY_AFTER"'],
        env={"GATEWAY_AUTH_RATE_PER_MINUTE": per_minute},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert sourced == auth_retry_after(per_minute) == str(-(-60 // int(per_minute)))
    assert "COPY --chmod=755 retry-after.envsh /docker-entrypoint.d/" in DOCKERFILE.read_text(
        encoding="utf-8"
    )


def test_native_rendering_defines_every_gateway_variable(tmp_path: Path) -> None:
    assert set(_gateway_env(tmp_path)) >= GATEWAY_VARIABLES


def test_gateway_routes_every_service_and_strips_its_prefix() -> None:
    text = GATEWAY_TEMPLATE.read_text(encoding="utf-8")

    for name in SERVICES:
        assert re.search(rf"location /api/{name}/\s+{{\s*proxy_pass http://{name}/;", text)
        upstream = (
            rf"upstream {name} {{\s*zone {name} \S+;\s*\${{{name.upper()}_SERVERS}}\s*"
            r"keepalive 32;"
        )
        assert re.search(upstream, text), name
    assert "partners" not in re.sub(r"#.*", "", text)
    assert "proxy_intercept_errors off;" in text
    assert "server_tokens off;" in text


def test_catalog_reads_are_micro_cached_behind_a_switch() -> None:
    text = GATEWAY_TEMPLATE.read_text(encoding="utf-8")
    catalog = re.search(r"location /api/catalog/ \{(.*?)\n    \}", text, re.DOTALL)
    assert catalog is not None
    block = catalog.group(1)
    for directive in (
        "proxy_cache ${GATEWAY_READ_CACHE};",
        "proxy_cache_lock on;",
        "proxy_cache_use_stale updating;",
        "proxy_cache_bypass $http_authorization $http_traceparent;",
        "proxy_no_cache $http_authorization $http_traceparent;",
    ):
        assert directive in block, directive
    assert re.search(r"^    add_header X-Cache-Status \$upstream_cache_status always;", text, re.M)
    # How long a copy lives is the service's Cache-Control, never a gateway default.
    assert "proxy_cache_valid" not in text
    for main in (NATIVE_MAIN_TEMPLATE, DOCKER_MAIN_CONF):
        assert "keys_zone=mercato_reads:" in main.read_text(encoding="utf-8"), main


# --- following the upstreams (Docker) ------------------------------------------------------

# The upstreams as they were before they could re-resolve (the old template's blocks and
# the old image's values), to show the check below catches them.
OLD_UPSTREAMS = """
upstream catalog {
    server ${CATALOG_UPSTREAM};
    keepalive 32;
    keepalive_timeout 60s;
}
"""


def test_every_docker_upstream_re_resolves_its_service() -> None:
    env = docker_env()
    rendered = render(GATEWAY_TEMPLATE.read_text(encoding="utf-8"), env)

    assert upstreams_that_cannot_reresolve(rendered) == []
    assert re.search(r"^resolver 127\.0\.0\.11 valid=\d+s", rendered, re.M), "Docker's DNS"
    blocks = upstream_blocks(rendered)
    assert set(blocks) == set(SERVICES)
    for service in ROUTED:
        servers = re.findall(r"^\s*server\s+([^;]*);", blocks[service.name], re.M)
        assert len(servers) == 1, servers
        words = servers[0].split()
        # The compose service name (one address per container when scaled) and its port.
        assert words[0] == f"{service.name}:{service.port}"
        # Admission control: the same cap per process as the native stack (stack.toml).
        assert words[2] == f"max_conns={service.max_in_flight}", words
        assert re.fullmatch(r"max_fails=[1-9]\d*", words[3]), words
        assert re.fullmatch(r"fail_timeout=\d+s", words[4]), words


def test_reresolve_check_fails_on_the_old_upstreams() -> None:
    rendered = render(OLD_UPSTREAMS, {"CATALOG_UPSTREAM": "catalog:8002"})

    assert upstreams_that_cannot_reresolve(rendered) == [
        "catalog: no zone",
        "catalog: no resolver",
        "catalog: server catalog:8002 is resolved once",
    ]


def test_native_upstreams_list_each_replica_with_passive_health_checks(tmp_path: Path) -> None:
    env = _gateway_env(tmp_path)

    assert env["GATEWAY_RESOLVER"] == ""
    for service in ROUTED:
        line = env[f"{service.name.upper()}_SERVERS"]
        assert re.fullmatch(
            rf"server 127\.0\.0\.1:\d+ max_conns={service.max_in_flight} "
            r"max_fails=[1-9]\d* fail_timeout=\d+s;",
            line,
        )


def test_only_idempotent_requests_go_to_the_next_upstream() -> None:
    text = re.sub(r"#.*", "", GATEWAY_TEMPLATE.read_text(encoding="utf-8"))
    directives = re.findall(r"^\s*proxy_next_upstream\s+([^;]*);", text, re.M)

    # Never "non_idempotent" (a POST sent once is never sent again), and never a service's
    # own answer: only a server that could not be used at all, or a replica draining after
    # SIGTERM, which alone answers 502 (mercato_shared.drain; no service answers 502 itself).
    assert directives == ["error timeout http_502"]
    for path in [*REPO.glob("services/*/src/**/*.py"), *REPO.glob("shared/src/**/*.py")]:
        if path.name != "drain.py":
            answers_502 = r"error_response\(\s*502|status_code\s*=\s*502|HTTP_502"
            assert not re.search(answers_502, path.read_text(encoding="utf-8")), path
    assert re.search(r"^\s*proxy_next_upstream_tries 2;", text, re.M)


def test_a_replica_drains_for_longer_than_nginx_keeps_an_idle_connection(tmp_path: Path) -> None:
    # mercato_shared.drain: by the end of the drain nginx has closed every connection to the
    # replica it did not use since the drain began, so the server's shutdown closes none
    # that nginx could still pick for a POST (which it never retries).
    text = re.sub(r"#.*", "", GATEWAY_TEMPLATE.read_text(encoding="utf-8"))
    blocks = re.findall(r"^upstream \w+ \{(.*?)^\}", text, re.M | re.DOTALL)
    idle = {
        int(seconds)
        for block in blocks
        for seconds in re.findall(r"keepalive_timeout (\d+)s;", block)
    }
    assert len(blocks) == len(SERVICES)
    assert len(idle) == 1, idle
    stack = load_stack({"MERCATO_RUN_DIR": str(tmp_path), "MERCATO_REPLICAS": "2"})
    drains = {
        float(env["SHUTDOWN_DRAIN_SECONDS"])
        for _, env in programs(stack).values()
        if "SHUTDOWN_DRAIN_SECONDS" in env
    }
    assert drains
    assert min(drains) > max(idle), (drains, idle)


# --- security headers and CORS -------------------------------------------------------------


def _csp(uri: str) -> str:
    text = GATEWAY_TEMPLATE.read_text(encoding="utf-8")
    block = re.search(r"map \$uri \$mercato_csp \{(?P<body>.*?)\n\}", text, re.DOTALL)
    assert block
    entries: list[tuple[str, str]] = re.findall(
        r'^\s*"([^"]+)"\s+"([^"]*)";', block.group("body"), re.M
    )
    for key, value in entries:
        if key.startswith("~") and re.search(key[1:], uri):
            return value
    default = re.search(r'^\s*default\s+"([^"]*)";', block.group("body"), re.M)
    assert default
    return default.group(1)


def _sources(csp: str, directive: str) -> list[str]:
    for part in csp.split(";"):
        words = part.split()
        if words and words[0] == directive:
            return words[1:]
    return []


def docs_page(path: str) -> str:
    """A docs page as a service behind the gateway serves it (root path /api/catalog)."""
    app = create_app(BaseServiceSettings(), title="t", routers=[])

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, root_path="/api/catalog")
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            return await client.get(path)

    response = asyncio.run(get())
    assert response.status_code == 200
    return response.text


def test_csp_of_the_docs_pages_allows_exactly_what_they_load() -> None:
    for path in ("/docs", "/redoc"):
        html, csp = docs_page(path), _csp(f"/api/catalog{path}")
        scripts = re.findall(r'<script src="([^"]+)"', html)
        styles = re.findall(r'<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"', html)
        icons = re.findall(r'<link rel="shortcut icon" href="([^"]+)"', html)
        # Every asset is this origin's, under the service's prefix: nothing from a CDN.
        for url in scripts + styles + icons:
            assert url.startswith(f"/api/catalog{ASSETS_PATH}/"), url
        assert "https://" not in html
        assert _sources(csp, "default-src") == ["'none'"]
        assert "'self'" in _sources(csp, "script-src")
        assert [s for s in _sources(csp, "script-src") if s.startswith("http")] == []
        assert ("'self'" in _sources(csp, "style-src")) == bool(styles)
        assert "'self'" in _sources(csp, "img-src")
        assert "font-src" not in csp
        assert _sources(csp, "connect-src") == ["'self'"]
        assert _sources(csp, "frame-ancestors") == ["'none'"]
        assert "'unsafe-eval'" not in csp
        assert "'unsafe-inline'" not in _sources(csp, "script-src")
    # The one inline script of Swagger UI and of its OAuth2 redirect: the tag sub_filter
    # gives the CSP's nonce.
    redirect_csp = _csp("/api/catalog/docs/oauth2-redirect")
    for path, csp in (
        ("/docs", _csp("/api/catalog/docs")),
        ("/docs/oauth2-redirect", redirect_csp),
    ):
        assert docs_page(path).count("<script>") == 1
        assert "'nonce-$request_id'" in _sources(csp, "script-src")
    assert _sources(redirect_csp, "script-src") == ["'nonce-$request_id'"]
    assert "sub_filter '<script>' '<script nonce=\"$request_id\">';" in GATEWAY_TEMPLATE.read_text()
    assert "<script>" not in docs_page("/redoc")


def test_api_responses_get_the_strictest_csp_and_the_security_headers() -> None:
    text = GATEWAY_TEMPLATE.read_text(encoding="utf-8")

    assert _csp("/api/catalog/products") == (
        "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    for header in (
        "X-Content-Type-Options nosniff",
        "X-Frame-Options DENY",
        "Referrer-Policy no-referrer",
        "Content-Security-Policy $mercato_csp",
        "Access-Control-Allow-Origin $mercato_cors_origin",
    ):
        assert re.search(rf"^    add_header {re.escape(header)} always;", text, re.M), header
    # All at the server level: a location with its own add_header would inherit none.
    assert len(re.findall(r"^\s+add_header", text, re.M)) == len(
        re.findall(r"^    add_header", text, re.M)
    )
    assert "Access-Control-Allow-Credentials" not in text
    assert '"*"' not in re.sub(r"#.*", "", text)


CORS_REGEX = re.compile(
    r'^map "\$http_origin \$\{GATEWAY_CORS_ORIGINS\}" \$mercato_cors_origin \{\n'
    r'\s*"~(?P<regex>[^"]+)"',
    re.M,
)


@pytest.mark.parametrize(
    ("origin", "origins", "allowed"),
    [
        ("https://shop.example.com", "https://shop.example.com", "https://shop.example.com"),
        (
            "http://localhost:3000",
            "https://a.example http://localhost:3000",
            "http://localhost:3000",
        ),
        ("https://a.example", "https://a.example http://localhost:3000", "https://a.example"),
        ("https://a.example.evil.com", "https://a.example", None),
        ("https://evil.a.example", "https://a.example", None),
        ("http://a.example", "https://a.example", None),
        ("https://a.exampl", "https://a.example", None),
        ("", "https://a.example", None),
        ("https://a.example", "", None),
        ("null", "https://a.example", None),
    ],
)
def test_cors_allowlist_matches_whole_origins_only(
    origin: str, origins: str, allowed: str | None
) -> None:
    match = CORS_REGEX.search(GATEWAY_TEMPLATE.read_text(encoding="utf-8"))
    assert match
    # nginx's regex is PCRE; Python's re spells the named back-reference (?P=name).
    regex = match.group("regex").replace(r"\k<mercato_origin>", "(?P=mercato_origin)")
    regex = regex.replace("(?<mercato_origin>", "(?P<mercato_origin>")
    found = re.search(regex, f"{origin} {origins}")

    assert (found.group("mercato_origin") if found else None) == allowed


def test_gateway_error_pages_are_json_in_the_project_shape() -> None:
    text = GATEWAY_TEMPLATE.read_text(encoding="utf-8")

    for status, code in ERROR_CODES.items():
        sent = SENT_AS.get(status, status)
        assert re.search(rf"error_page [^;]*\b{status}\b[^;]*/_errors/{status};", text), status
        match = re.search(rf"location = /_errors/{status} {{(?P<body>.*?)\n    }}", text, re.DOTALL)
        assert match, status
        body = match.group("body")
        assert "internal;" in body
        assert "default_type application/json;" in body
        returned = re.search(rf"return {sent} '(?P<json>[^']*)';", body)
        assert returned, status
        rendered = returned.group("json").replace("$mercato_request_id", "rid-1")
        # The 429 page names the limit that was hit (map $limit_conn_status).
        rendered = rendered.replace("$mercato_429_code", code).replace("$mercato_429_message", "m")
        # Both values of $mercato_trace_id_json are JSON: a quoted trace id, or null.
        for trace_json, trace_id in (
            ("null", None),
            ('"0af7651916cd43dd8448eb211c80319c"', "0af7651916cd43dd8448eb211c80319c"),
        ):
            document = json.loads(rendered.replace("$mercato_trace_id_json", trace_json))
            assert document["error"]["trace_id"] == trace_id
        document = json.loads(rendered.replace("$mercato_trace_id_json", "null"))
        message = document["error"].pop("message")
        assert isinstance(message, str)
        assert message
        assert document == {"error": {"code": code, "request_id": "rid-1", "trace_id": None}}


# --- nginx -t --------------------------------------------------------------------------


def test_native_gateway_config_passes_nginx_t(tmp_path: Path) -> None:
    """The native stack's own rendering, with two processes of each replicated service."""
    stack = load_stack(
        {"MERCATO_RUN_DIR": str(tmp_path), "MERCATO_PORT_OFFSET": "30000", "MERCATO_REPLICAS": "2"}
    )
    stack.logs.mkdir()
    write_gateway_config(stack)
    conf = (stack.nginx_dir / "mercato.conf").read_text(encoding="utf-8")

    catalog = re.search(r"upstream catalog \{(?P<body>[^}]*)\}", conf)
    assert catalog, conf
    servers = re.findall(
        r"server (\S+) max_conns=64 max_fails=3 fail_timeout=10s;", catalog.group("body")
    )
    assert servers == ["127.0.0.1:38002", "127.0.0.1:38102"]
    assert len(re.findall(r"^\s*server ", conf, re.MULTILINE)) == 5 + 2 + 1  # and the server block
    _nginx_test(stack.nginx_dir / "nginx.conf", stack.nginx_dir)


def test_docker_main_config_passes_nginx_t(tmp_path: Path) -> None:
    # The container's own nginx.conf with its absolute paths moved into tmp_path, and the
    # template rendered as the image would (but with resolvable upstream addresses:
    # nginx -t resolves them, and the compose service names do not exist here).
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    env = _gateway_env(tmp_path) | {
        "GATEWAY_ACCESS_LOG": "/dev/stdout",
        "GATEWAY_HTTP_SOCKET": str(tmp_path / "http.sock"),
    }
    for template, name in ((GATEWAY_TEMPLATE, "mercato.conf"), (STREAM_TEMPLATE, "stream.conf")):
        (conf_d / name).write_text(
            render(template.read_text(encoding="utf-8"), env), encoding="utf-8"
        )
    text = DOCKER_MAIN_CONF.read_text(encoding="utf-8")
    assert "include /etc/nginx/conf.d/mercato.conf;" in text
    assert "include /etc/nginx/conf.d/stream.conf;" in text
    # The image's nginx has the stream module built in; Debian's loads it.
    text = f"{stream_module_directive()}\n{text}"
    moved = {"/etc/nginx/conf.d/": f"{conf_d}/", "/tmp/": f"{tmp_path}/"}
    text = re.sub("|".join(map(re.escape, moved)), lambda m: moved[m.group(0)], text)
    main_conf = tmp_path / "nginx.conf"
    main_conf.write_text(text, encoding="utf-8")

    _nginx_test(main_conf, tmp_path)


def test_one_address_cannot_take_every_admission_slot_of_a_service() -> None:
    """Requests in progress per address (GATEWAY_CONN_LIMIT, default) stay below the cap of
    every routed service at one process: slow bodies from one address hold that many slots
    at most, and the service keeps room for everyone else."""
    per_address = int(GATEWAY_LIMITS["GATEWAY_CONN_LIMIT"])
    for service in ROUTED:
        assert service.max_in_flight is not None
        assert per_address < service.max_in_flight, service.name
