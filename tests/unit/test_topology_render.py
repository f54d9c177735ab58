"""topology.render: what it derives from a made-up stack description."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from topology.description import parse
from topology.render import fill
from topology.render.compose import processes
from topology.render.env_example import service_urls
from topology.render.gateway import docker_servers, routes, upstreams

STACK = parse(
    {
        "gateway": {"port": 8080},
        "services": {
            "shop": {"port": 9001, "routed": True,
                     "max_in_flight": 8, "database": True, "redis": True,
                     "migrate": "shop.migrate", "seed": ["shop.seed"], "calls": ["stock"]},
            "stock": {"port": 9002, "routed": True,
                      "max_in_flight": 4, "database": False, "redis": False, "calls": ["shop"]},
            "outside": {"port": 9090, "routed": False,
                        "database": False, "redis": False},
        },
        "workers": {"mailer": {"command": ["celery", "-A", "shop.mail", "worker", "-Q", "a,b"],
                               "database": "shop", "redis": True, "calls": ["stock"]}},
    }
)  # fmt: skip


#: The template's anchors the rendered blocks merge.
ANCHORS = "x: [&build {}, &python-env {}, &python-job {}, &python-service {}]\n"


def _compose() -> dict[str, Any]:
    loaded: dict[str, dict[str, Any]] = yaml.safe_load(
        f"{ANCHORS}services:\n{processes(STACK, '')}"
    )
    return loaded["services"]


def _waits(name: str) -> dict[str, str]:
    return {k: v["condition"] for k, v in _compose()[name].get("depends_on", {}).items()}


def test_depends_on_follows_database_redis_and_calls_without_a_cycle() -> None:
    done, healthy = "service_completed_successfully", "service_healthy"

    # They call each other: stock, declared later, waits for shop; shop starts without stock.
    assert _waits("shop") == {
        "postgres": healthy, "migrate-shop": done, "seed-shop": done, "redis": healthy
    }  # fmt: skip
    assert _waits("stock") == {"shop": healthy}
    assert _waits("seed-shop") == {"migrate-shop": done}
    assert _waits("mailer") == {
        "postgres": healthy, "migrate-shop": done, "seed-shop": done, "redis": healthy,
        "stock": healthy,
    }  # fmt: skip


def test_services_get_their_port_and_no_command_and_workers_their_command() -> None:
    compose = _compose()

    assert "command" not in compose["shop"]
    assert 'PORT: "9001"' in processes(STACK, template="")
    assert compose["mailer"]["command"] == ["celery", "-A", "shop.mail", "worker", "-Q", "a,b"]
    assert compose["migrate-shop"]["command"] == ["python", "-m", "shop.migrate"]
    assert "<<: [*extra-shop, *python-service]" in processes(STACK, "x-e: &extra-shop\n")


def test_the_gateway_routes_and_caps_every_routed_service() -> None:
    assert "location /api/shop/ { proxy_pass http://shop/; }" in routes(STACK)
    assert "outside" not in routes(STACK) + upstreams(STACK)
    assert "${STOCK_SERVERS}" in upstreams(STACK)
    assert "(?<mercato_405_service>shop|stock)" in upstreams(STACK)
    assert "server stock:9002 resolve max_conns=4 " in docker_servers(STACK)


def test_only_called_services_get_a_url_line() -> None:
    assert service_urls(STACK) == (
        "# SHOP_URL=http://127.0.0.1:9001\n# STOCK_URL=http://127.0.0.1:9002\n"
    )


def test_a_template_must_place_every_section_once() -> None:
    assert fill("a\n  # @render x\nb\n", {"x": "X\n"}) == "a\nX\nb\n"
    with pytest.raises(KeyError, match="unknown section"):
        fill("# @render y\n", {"x": ""})
    with pytest.raises(KeyError, match="places sections"):
        fill("a\n", {"x": ""})
