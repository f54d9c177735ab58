"""Static checks of the gateway configuration and of the template renderer.

No network and no running stack: the templates are rendered into a temporary directory as
each runtime renders them and checked with ``nginx -t``, which parses the whole
configuration, opens its log files and resolves its upstream addresses, but serves nothing.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

import topology
from native.gateway import (
    GATEWAY_LIMITS,
    GATEWAY_TEMPLATES,
    MAIN_TEMPLATE,
    auth_retry_after,
    gateway_values,
    stream_module_directive,
    write_gateway_config,
)
from native.render import render
from native.stack import load_stack
from native.supervisor import programs

REPO = Path(__file__).resolve().parents[2]
GATEWAY = REPO / "gateway"
TEMPLATES = sorted(GATEWAY_TEMPLATES.glob("*.template"))
DOCKER_MAIN_CONF = GATEWAY / "nginx.conf"
DOCKERFILE = GATEWAY / "Dockerfile"
ROUTED = topology.load().routed


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def gateway_text() -> str:
    """Every gateway template (the hand-written one and those it includes), comments kept."""
    return "\n".join(_text(path) for path in TEMPLATES)


def _nginx() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        pytest.skip("nginx is not installed, so `nginx -t` cannot check the gateway config")
    return found


def native_env(run_dir: Path, **settings: str) -> dict[str, str]:
    """The native stack's own values (native.gateway.gateway_values), on ports nobody uses."""
    stack = load_stack({"MERCATO_RUN_DIR": str(run_dir), "MERCATO_PORT_OFFSET": "17000"} | settings)
    return gateway_values(stack) | {"GATEWAY_ACCESS_LOG": str(run_dir / "gateway-access.log")}


def docker_env() -> dict[str, str]:
    """What the image's envsubst sees under compose: the Dockerfile's ENV, compose's
    environment (defaults applied), then the entrypoint's sourced *.envsh scripts."""
    env: dict[str, str] = {}
    for line in re.sub(r"\\\n", " ", _text(DOCKERFILE)).splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "ENV":
            env |= dict(word.partition("=")[::2] for word in words[1:])
    compose = yaml.safe_load(_text(REPO / "docker-compose.yml"))["services"]["gateway"]
    default = re.compile(r"\$\{[A-Z_][A-Z0-9_]*:-([^}]*)\}")
    env |= {k: default.sub(lambda m: m.group(1), str(v)) for k, v in compose["environment"].items()}
    scripts = [f'. "{path}"' for path in sorted(GATEWAY.glob("*.envsh"))]
    for script in sorted(GATEWAY.glob("*.envsh")):
        assert f"COPY --chmod=755 {script.name} /docker-entrypoint.d/" in _text(DOCKERFILE)
    printed = subprocess.run(
        ["sh", "-c", "; ".join([*scripts, "env -0"])],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(item.partition("=")[::2] for item in printed.split("\0") if item)


def _nginx_test(main_conf: Path, prefix: Path) -> None:
    result = subprocess.run(
        [_nginx(), "-t", "-p", str(prefix), "-c", str(main_conf)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output  # nginx -t fails on an [emerg]
    assert "[warn]" not in output, output


# --- the templates ------------------------------------------------------------


@pytest.mark.parametrize("path", [*TEMPLATES, MAIN_TEMPLATE], ids=lambda p: p.name)
def test_templates_have_no_bare_upper_case_dollar_names(path: Path) -> None:
    # The nginx image's envsubst also replaces "$NAME" (no braces) for every variable in
    # the container's environment (PATH, HOSTNAME, ...); render() does not.
    assert re.findall(r"\$[A-Z_]", _text(path)) == []


@pytest.mark.parametrize("per_minute", ["1", "7", "30", "61", "6000"])
def test_both_renderers_derive_the_auth_retry_after_from_the_auth_rate(per_minute: str) -> None:
    """A 429 of the token and registration zone says when that zone admits one more request."""
    sourced = subprocess.run(
        ["sh", "-c", f'. "{GATEWAY / "retry-after.envsh"}"; printf %s "$GATEWAY_AUTH_RETRY_AFTER"'],
        env={"GATEWAY_AUTH_RATE_PER_MINUTE": per_minute},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert sourced == auth_retry_after(per_minute) == str(-(-60 // int(per_minute)))


def test_catalog_reads_are_micro_cached_without_credentials_for_the_services_max_age() -> None:
    text = gateway_text()
    catalog = re.search(r"location /api/catalog/ \{(.*?)\n    \}", text, re.DOTALL)
    assert catalog is not None
    assert "proxy_cache ${GATEWAY_READ_CACHE};" in catalog.group(1)
    for directive in ("proxy_cache_bypass", "proxy_no_cache"):
        assert f"{directive} $http_authorization $http_traceparent;" in catalog.group(1)
    # How long a copy lives is the service's Cache-Control, never a gateway default. (Both
    # main configurations define the zone: nginx -t refuses an unknown one, below.)
    assert "proxy_cache_valid" not in text


# --- upstreams, retries, drain -----------------------------------------------------------------


def test_every_docker_upstream_re_resolves_its_service() -> None:
    """nginx (>= 1.27.3) follows a service's addresses only for a `server` line with
    `resolve`, in an upstream with a shared-memory `zone`, with a `resolver` to ask. (render
    refuses a placeholder the image's environment leaves undefined; the native stack's are
    rendered for nginx -t below.)"""
    version = re.search(r"^FROM nginxinc/nginx-unprivileged:([\d.]+)", _text(DOCKERFILE), re.M)
    assert version
    assert tuple(map(int, version.group(1).split("."))) >= (1, 27, 3)
    rendered = render(gateway_text(), docker_env())
    blocks = re.findall(r"^upstream (\w+) \{([^}]*)\}", rendered, re.M)

    assert re.search(r"^resolver 127\.0\.0\.11 valid=\d+s", rendered, re.M), "Docker's DNS"
    assert blocks
    for name, body in blocks:
        assert re.search(r"^\s*zone\s+\S+", body, re.M), name
        servers = re.findall(r"^\s*server\s+([^;]*);", body, re.M)
        assert servers, name
        assert all("resolve" in server.split()[1:] for server in servers), servers


def test_only_idempotent_requests_go_to_the_next_upstream() -> None:
    text = re.sub(r"#.*", "", gateway_text())

    # Never "non_idempotent" (a POST sent once is never sent again), and never a service's
    # own answer: only a server that could not be used at all, or a replica draining after
    # SIGTERM, which alone answers 502 (mercato_shared.drain; no service answers 502 itself).
    assert re.findall(r"^\s*proxy_next_upstream\s+([^;]*);", text, re.M) == [
        "error timeout http_502"
    ]
    for path in [*REPO.glob("services/*/src/**/*.py"), *REPO.glob("shared/src/**/*.py")]:
        if path.name != "drain.py":
            answers_502 = r"error_response\(\s*502|status_code\s*=\s*502|HTTP_502"
            assert not re.search(answers_502, _text(path)), path
    assert re.search(r"^\s*proxy_next_upstream_tries 2;", text, re.M)


def test_a_replica_drains_for_longer_than_nginx_keeps_an_idle_connection(tmp_path: Path) -> None:
    # mercato_shared.drain: by the end of the drain nginx has closed every connection to the
    # replica it did not use since the drain began, so the server's shutdown closes none
    # that nginx could still pick for a POST (which it never retries).
    blocks = re.findall(r"^upstream \w+ \{(.*?)^\}", gateway_text(), re.M | re.DOTALL)
    idle = {int(s) for block in blocks for s in re.findall(r"keepalive_timeout (\d+)s;", block)}
    stack = load_stack({"MERCATO_RUN_DIR": str(tmp_path), "MERCATO_REPLICAS": "2"})
    drains = {
        float(env["SHUTDOWN_DRAIN_SECONDS"])
        for _, env in programs(stack).values()
        if "SHUTDOWN_DRAIN_SECONDS" in env
    }
    assert len(idle) == 1
    assert drains
    assert min(drains) > max(idle), (drains, idle)


def test_one_address_cannot_take_every_admission_slot_of_a_service() -> None:
    """Requests in progress per address (GATEWAY_CONN_LIMIT) stay below the cap of every
    routed service at one process: the service keeps room for everyone else."""
    per_address = int(GATEWAY_LIMITS["GATEWAY_CONN_LIMIT"])
    assert all(per_address < (service.max_in_flight or 0) for service in ROUTED)


# --- security headers, CORS, error pages -------------------------------------------------------


def csp_for(uri: str) -> str:
    block = re.search(r"map \$uri \$mercato_csp \{(?P<body>.*?)\n\}", gateway_text(), re.DOTALL)
    assert block
    for key, value in re.findall(r'^\s*"([^"]+)"\s+"([^"]*)";', block.group("body"), re.M):
        if key.startswith("~") and re.search(key[1:], uri):
            return str(value)
    default = re.search(r'^\s*default\s+"([^"]*)";', block.group("body"), re.M)
    assert default
    return default.group(1)


def test_every_header_is_added_at_the_server_level() -> None:
    # A location with an add_header of its own would inherit none of the security headers,
    # whose values tests/e2e/test_gateway_abuse.py checks on real answers.
    text = gateway_text()
    assert re.findall(r"^\s+add_header", text, re.M) == re.findall(r"^    add_header", text, re.M)


def test_every_error_of_nginx_is_a_json_page_in_the_project_shape() -> None:
    text = gateway_text()
    pages = dict(re.findall(r"^    error_page (\d+) (?:=\d+ )?/_errors/(\d+);", text, re.M))
    # Every status nginx answers itself, 494 its "request header too large" sent as 431.
    assert {"400", "404", "405", "413", "414", "429", "494", "500", "502", "503", "504"} <= set(
        pages
    )
    for page in set(pages.values()):
        match = re.search(rf"location = /_errors/{page} {{(.*?)\n    }}", text, re.DOTALL)
        assert match, page
        assert "internal;" in match.group(1), page
        assert "default_type application/json;" in match.group(1), page
        returned = re.search(r"return (\d+) '([^']*)';", match.group(1))
        assert returned, page
        # A service nginx could not use is a 503 upstream_unavailable (Retry-After).
        assert returned.group(1) == ("503" if page == "502" else page)
        body = returned.group(2).replace("$mercato_request_id", "rid-1")
        # The 429 page names the limit that was hit (map $limit_conn_status).
        body = body.replace("$mercato_429_code", "rate_limited").replace(
            "$mercato_429_message", "m"
        )
        # Both values of $mercato_trace_id_json are JSON: a quoted trace id, or null.
        assert json.loads(body.replace("$mercato_trace_id_json", '"0af7"'))["error"]["trace_id"]
        document = json.loads(body.replace("$mercato_trace_id_json", "null"))["error"]
        assert re.fullmatch(r"[a-z_]+", document.pop("code")), page
        assert document.pop("message"), page
        assert document == {"request_id": "rid-1", "trace_id": None}


# --- nginx -t ----------------------------------------------------------------------------------


def test_native_gateway_config_passes_nginx_t(tmp_path: Path) -> None:
    """The native stack's own rendering, with two processes of each replicated service."""
    stack = load_stack(
        {"MERCATO_RUN_DIR": str(tmp_path), "MERCATO_PORT_OFFSET": "30000", "MERCATO_REPLICAS": "2"}
    )
    stack.logs.mkdir()
    write_gateway_config(stack)
    _nginx_test(stack.nginx_dir / "nginx.conf", stack.nginx_dir)


def test_docker_main_config_passes_nginx_t(tmp_path: Path) -> None:
    # The container's own nginx.conf with its absolute paths moved into tmp_path, and the
    # templates rendered as the image would, but with the native stack's resolvable
    # upstream addresses (nginx -t resolves them; the compose service names do not exist).
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    env = docker_env() | {
        key: value for key, value in native_env(tmp_path).items() if key.endswith("_SERVERS")
    }
    env |= {"GATEWAY_HTTP_SOCKET": str(tmp_path / "http.sock"), "GATEWAY_RESOLVER": ""}
    env["GATEWAY_ACCESS_LOG"] = "/dev/stdout"
    for template in TEMPLATES:
        (conf_d / template.stem).write_text(render(_text(template), env), encoding="utf-8")
    text = _text(DOCKER_MAIN_CONF)
    assert "include /etc/nginx/conf.d/mercato.conf;" in text
    # The image's nginx has the stream module built in; Debian's loads it.
    text = f"{stream_module_directive()}\n{text}"
    moved = {"/etc/nginx/conf.d/": f"{conf_d}/", "/tmp/": f"{tmp_path}/"}
    text = re.sub("|".join(map(re.escape, moved)), lambda m: moved[m.group(0)], text)
    (tmp_path / "nginx.conf").write_text(text, encoding="utf-8")

    _nginx_test(tmp_path / "nginx.conf", tmp_path)
