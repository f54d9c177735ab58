"""The native stack's processes, ports, gateway servers and supervisord programs, as rendered
from stack.toml and the settings (no process is started)."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest

import topology
from native.env import read_env
from native.gateway import gateway_values
from native.probe import postgres_dsn
from native.ready import readiness_urls
from native.stack import Stack, StackConfigError
from native.supervisor import supervisord_config

DESCRIPTION = topology.load()


def _stack(**env: str) -> Stack:
    return Stack(env=env, run_dir=Path("/run/mercato-test"))


def _programs(stack: Stack) -> dict[str, configparser.SectionProxy]:
    config = configparser.ConfigParser(interpolation=None)
    config.read_string(supervisord_config(stack))
    return {
        name.removeprefix("program:"): config[name]
        for name in config.sections()
        if name.startswith("program:")
    }


def test_one_process_per_service_by_default() -> None:
    programs = _programs(_stack())

    replicated = {f"{s.name}-1" for s in DESCRIPTION.replicated}
    others = {s.name for s in DESCRIPTION.services if not s.replicas}
    workers = {w.name for w in DESCRIPTION.workers}
    assert set(programs) == replicated | others | workers | {"gateway"}
    assert replicated == {"catalog-1", "orders-1"}


def test_replicas_get_their_own_program_and_port() -> None:
    stack = _stack(MERCATO_REPLICAS="3", MERCATO_PORT_OFFSET="500")
    programs = _programs(stack)

    for name, port in (("catalog-1", 8502), ("catalog-2", 8602), ("catalog-3", 8702)):
        assert shlex.split(programs[name]["command"])[1:] == ["-m", "mercato_shared.serve"]
        assert programs[name]["environment"] == (
            f'OTEL_SERVICE_NAME="catalog",MERCATO_SERVICE="catalog",HOST="127.0.0.1",'
            f'PORT="{port}",SERVICE_WORKERS="1",SHUTDOWN_DRAIN_SECONDS="5"'
        )
        assert programs[name]["stdout_logfile"] == f"/run/mercato-test/logs/{name}.log"
    assert "identity-2" not in programs
    assert "orders-3" in programs
    assert 'MERCATO_SERVICE="identity"' in programs["identity"]["environment"]


def test_a_single_process_does_not_drain() -> None:
    environment = _programs(_stack())["catalog-1"]["environment"]

    assert "SHUTDOWN_DRAIN_SECONDS" not in environment


def test_every_replica_is_a_server_of_its_upstream() -> None:
    values = gateway_values(_stack(MERCATO_REPLICAS="2", GATEWAY_FAIL_TIMEOUT="3s"))

    assert values["CATALOG_SERVERS"].split("\n    ") == [
        "server 127.0.0.1:8002 max_conns=64 max_fails=3 fail_timeout=3s;",
        "server 127.0.0.1:8102 max_conns=64 max_fails=3 fail_timeout=3s;",
    ]
    assert (
        values["IDENTITY_SERVERS"]
        == "server 127.0.0.1:8001 max_conns=32 max_fails=3 fail_timeout=3s;"
    )
    assert values["GATEWAY_RESOLVER"] == ""
    assert "PARTNERS_SERVERS" not in values


def test_readiness_waits_for_every_replica_and_every_route() -> None:
    urls = readiness_urls(_stack(MERCATO_REPLICAS="2"))

    assert urls["catalog-2"][0] == "http://127.0.0.1:8102/readyz"
    assert urls["orders-2"][0] == "http://127.0.0.1:8103/readyz"
    assert urls["partners"][0] == "http://127.0.0.1:8090/readyz"
    assert urls["gateway -> catalog"][0] == "http://127.0.0.1:8080/api/catalog/readyz"
    assert len(urls) == len(DESCRIPTION.services) + 2 + len(DESCRIPTION.routed)


@pytest.mark.parametrize("value", ["0", "-1", "two", ""])
def test_a_replica_count_that_is_not_positive_is_refused(value: str) -> None:
    with pytest.raises(StackConfigError, match="MERCATO_REPLICAS"):
        _stack(MERCATO_REPLICAS=value).check_ports()


def test_replica_ports_that_collide_are_refused() -> None:
    # catalog-2 would listen on 8102, the port given to identity.
    with pytest.raises(StackConfigError, match="share a port"):
        _stack(MERCATO_REPLICAS="2", IDENTITY_PORT="8102").check_ports()


def test_dotenv_is_read_with_its_quoting_and_the_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        'export CATALOG_PORT=9002\nGATEWAY_MAX_BODY="2m" # a comment\n'
        "MESSAGE='a # b'\nEMPTY\nMERCATO_REPLICAS=2\n",
        encoding="utf-8",
    )

    env = read_env({"MERCATO_REPLICAS": "3"}, dotenv=dotenv)

    assert env == {
        "CATALOG_PORT": "9002",
        "GATEWAY_MAX_BODY": "2m",
        "MESSAGE": "a # b",
        "MERCATO_REPLICAS": "3",
    }


def test_the_probe_connects_to_the_servers_postgres_database() -> None:
    assert postgres_dsn("postgresql+asyncpg://u:p@db:5433") == "postgresql://u:p@db:5433/postgres"
    assert postgres_dsn("postgresql+asyncpg://db/") == "postgresql://db/postgres"
