"""Static checks of the gateway configuration and of the template renderer.

No network and no running stack: the templates are rendered into a temporary directory
and checked with ``nginx -t``, which parses the whole configuration, opens its log files
and resolves its upstream addresses, but serves nothing.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from native.render import PLACEHOLDER, render

REPO = Path(__file__).resolve().parents[2]
GATEWAY_TEMPLATE = REPO / "gateway" / "templates" / "mercato.conf.template"
NATIVE_MAIN_TEMPLATE = REPO / "native" / "nginx.conf.template"
DOCKER_MAIN_CONF = REPO / "gateway" / "nginx.conf"
DOCKERFILE = REPO / "gateway" / "Dockerfile"

GATEWAY_VARIABLES = {
    "GATEWAY_PORT",
    "IDENTITY_UPSTREAM",
    "CATALOG_UPSTREAM",
    "ORDERS_UPSTREAM",
    "CHECKOUT_UPSTREAM",
    "REPORTS_UPSTREAM",
    "GATEWAY_ACCESS_LOG",
    "GATEWAY_RATE_LIMIT",
    "GATEWAY_RATE_BURST",
    "GATEWAY_MAX_BODY",
    "GATEWAY_READ_CACHE",
}
SERVICES = ("identity", "catalog", "orders", "checkout", "reports")
ERROR_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


def _nginx() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        pytest.skip("nginx is not installed, so `nginx -t` cannot check the gateway config")
    return found


def _gateway_env(run_dir: Path) -> dict[str, str]:
    """The values the native stack uses (127.0.0.1 upstreams), on ports nobody uses."""
    env = {f"{name.upper()}_UPSTREAM": f"127.0.0.1:{8001 + i}" for i, name in enumerate(SERVICES)}
    env.update(
        GATEWAY_PORT="18080",
        GATEWAY_ACCESS_LOG=str(run_dir / "gateway-access.log"),
        GATEWAY_RATE_LIMIT="50",
        GATEWAY_RATE_BURST="100",
        GATEWAY_MAX_BODY="1m",
        GATEWAY_READ_CACHE="mercato_reads",
    )
    return env


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
    template = "listen ${GATEWAY_PORT};\nserver ${CATALOG_UPSTREAM}; # ${GATEWAY_PORT}\n"
    env = {"GATEWAY_PORT": "8080", "CATALOG_UPSTREAM": "catalog:8002", "UNUSED": "x"}

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
    text = GATEWAY_TEMPLATE.read_text(encoding="utf-8")

    assert set(PLACEHOLDER.findall(text)) == GATEWAY_VARIABLES


NATIVE_MAIN_VARIABLES = {"RUN_DIR", "GATEWAY_ERROR_LOG", "NGINX_USER_DIRECTIVE"}


def _native_main_env(run_dir: Path) -> dict[str, str]:
    return {
        "RUN_DIR": str(run_dir),
        "GATEWAY_ERROR_LOG": str(run_dir / "error.log"),
        "NGINX_USER_DIRECTIVE": "",
    }


def test_native_main_template_uses_exactly_its_variables() -> None:
    text = NATIVE_MAIN_TEMPLATE.read_text(encoding="utf-8")

    assert set(PLACEHOLDER.findall(text)) == NATIVE_MAIN_VARIABLES
    assert re.search(r"^daemon off;", text, re.MULTILINE)


@pytest.mark.parametrize("path", [GATEWAY_TEMPLATE, NATIVE_MAIN_TEMPLATE])
def test_templates_have_no_bare_upper_case_dollar_names(path: Path) -> None:
    # The nginx image's envsubst also replaces "$NAME" (no braces) for every variable in
    # the container's environment (PATH, HOSTNAME, ...); render() does not. A bare
    # upper-case name would render differently in Docker and natively.
    assert re.findall(r"\$[A-Z_]", path.read_text(encoding="utf-8")) == []


def test_dockerfile_defines_every_gateway_variable() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")

    for name in GATEWAY_VARIABLES:
        assert re.search(rf"\b{name}=\S+", text), name
    assert "COPY templates/mercato.conf.template /etc/nginx/templates/" in text
    assert "HEALTHCHECK" in text


def test_gateway_routes_every_service_and_strips_its_prefix() -> None:
    text = GATEWAY_TEMPLATE.read_text(encoding="utf-8")

    for name in SERVICES:
        assert re.search(rf"location /api/{name}/\s+{{\s*proxy_pass http://{name}/;", text)
        upstream = rf"upstream {name} {{\s*server \${{{name.upper()}_UPSTREAM}};\s*keepalive 32;"
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
        "add_header X-Request-ID $mercato_request_id always;",
    ):
        assert directive in block, directive
    # How long a copy lives is the service's Cache-Control, never a gateway default.
    assert "proxy_cache_valid" not in text
    for main in (NATIVE_MAIN_TEMPLATE, DOCKER_MAIN_CONF):
        assert "keys_zone=mercato_reads:" in main.read_text(encoding="utf-8"), main


def test_gateway_error_pages_are_json_in_the_project_shape() -> None:
    text = GATEWAY_TEMPLATE.read_text(encoding="utf-8")

    for status, code in ERROR_CODES.items():
        assert re.search(rf"error_page {status}\b[^;]*/_errors/{status};", text), status
        match = re.search(rf"location = /_errors/{status} {{(?P<body>.*?)\n    }}", text, re.DOTALL)
        assert match, status
        body = match.group("body")
        assert "internal;" in body
        assert "default_type application/json;" in body
        returned = re.search(rf"return {status} '(?P<json>[^']*)';", body)
        assert returned, status
        rendered = returned.group("json").replace("$mercato_request_id", "rid-1")
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
    nginx_dir = tmp_path / "nginx"
    nginx_dir.mkdir()
    env = _gateway_env(tmp_path)
    (nginx_dir / "mercato.conf").write_text(
        render(GATEWAY_TEMPLATE.read_text(encoding="utf-8"), env), encoding="utf-8"
    )
    main_conf = nginx_dir / "nginx.conf"
    main_conf.write_text(
        render(NATIVE_MAIN_TEMPLATE.read_text(encoding="utf-8"), _native_main_env(tmp_path)),
        encoding="utf-8",
    )

    _nginx_test(main_conf, nginx_dir)


def test_docker_main_config_passes_nginx_t(tmp_path: Path) -> None:
    # The container's own nginx.conf with its absolute paths moved into tmp_path, and the
    # template rendered as the image would (but with resolvable upstream addresses:
    # nginx -t resolves them, and the compose service names do not exist here).
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    env = _gateway_env(tmp_path) | {"GATEWAY_ACCESS_LOG": "/dev/stdout"}
    (conf_d / "mercato.conf").write_text(
        render(GATEWAY_TEMPLATE.read_text(encoding="utf-8"), env), encoding="utf-8"
    )
    text = DOCKER_MAIN_CONF.read_text(encoding="utf-8")
    assert "include /etc/nginx/conf.d/mercato.conf;" in text
    moved = {"/etc/nginx/conf.d/": f"{conf_d}/", "/tmp/": f"{tmp_path}/"}
    text = re.sub("|".join(map(re.escape, moved)), lambda m: moved[m.group(0)], text)
    main_conf = tmp_path / "nginx.conf"
    main_conf.write_text(text, encoding="utf-8")

    _nginx_test(main_conf, tmp_path)
