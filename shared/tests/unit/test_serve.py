"""`python -m mercato_shared.serve`: the uvicorn arguments it builds from the environment."""

from __future__ import annotations

import pytest

from mercato_shared.serve import ServeConfigError, uvicorn_argv


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_the_service_names_its_factory_and_its_gateway_prefix() -> None:
    argv = uvicorn_argv({"MERCATO_SERVICE": "catalog", "PORT": "9002"})

    assert argv[:2] == ["catalog.main:create_app", "--factory"]
    assert _option(argv, "--root-path") == "/api/catalog"
    assert _option(argv, "--port") == "9002"


def test_host_and_workers_have_defaults_and_follow_the_environment() -> None:
    default = uvicorn_argv({"MERCATO_SERVICE": "orders", "PORT": "9003"})
    native = uvicorn_argv(
        {"MERCATO_SERVICE": "orders", "PORT": "9003", "HOST": "127.0.0.1", "SERVICE_WORKERS": "3"}
    )

    assert (_option(default, "--host"), _option(default, "--workers")) == ("0.0.0.0", "1")
    assert (_option(native, "--host"), _option(native, "--workers")) == ("127.0.0.1", "3")


def test_shutdown_and_keep_alive_are_those_the_gateway_expects() -> None:
    argv = uvicorn_argv({"MERCATO_SERVICE": "identity", "PORT": "9001"})

    assert "--no-access-log" in argv
    assert _option(argv, "--timeout-graceful-shutdown") == "10"
    assert _option(argv, "--timeout-keep-alive") == "75"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "9001"}, "MERCATO_SERVICE must be set"),
        ({"MERCATO_SERVICE": "identity"}, "PORT must be a positive integer"),
        ({"MERCATO_SERVICE": "identity", "PORT": "http"}, "PORT must be a positive integer"),
        ({"MERCATO_SERVICE": "../x", "PORT": "9001"}, "MERCATO_SERVICE must be a package"),
        (
            {"MERCATO_SERVICE": "identity", "PORT": "9001", "SERVICE_WORKERS": "0"},
            "SERVICE_WORKERS must be a positive integer",
        ),
    ],
)
def test_a_missing_or_malformed_setting_is_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ServeConfigError, match=message):
        uvicorn_argv(env)
