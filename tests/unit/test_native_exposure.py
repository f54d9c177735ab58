"""A development stack is not open to the network by default, and says so when it is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mercato_shared.dev_keys import DEV_JWT_PRIVATE_KEY
from native.exposure import exposure_warning, is_loopback
from native.gateway import STREAM_TEMPLATE, gateway_values
from native.render import render
from native.stack import Stack


def _stack(**env: str) -> Stack:
    return Stack(env=env, run_dir=Path("/run/mercato-test"))


def _listen(stack: Stack) -> str:
    config = render(STREAM_TEMPLATE.read_text(), gateway_values(stack))
    match = re.search(r"^\s*listen\s+([^\s;]+)", config, re.MULTILINE)
    assert match
    return match.group(1)


def test_the_native_gateway_listens_on_the_loopback_by_default() -> None:
    assert _listen(_stack()) == "127.0.0.1:8080"
    assert _listen(_stack(MERCATO_PORT_OFFSET="100")) == "127.0.0.1:8180"


@pytest.mark.parametrize(
    ("listen", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:8080"),
        ("[::]", "http://127.0.0.1:8080"),
        ("192.0.2.7", "http://192.0.2.7:8080"),
    ],
)
def test_gateway_listen_opens_it_where_it_says(listen: str, url: str) -> None:
    stack = _stack(GATEWAY_LISTEN=listen)
    assert _listen(stack) == f"{listen}:8080"
    assert stack.gateway_url() == url


@pytest.mark.parametrize(
    ("listen", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("[::]", False),
        ("192.0.2.7", False),
        ("shop.example", False),
    ],
)
def test_loopback_addresses(listen: str, loopback: bool) -> None:
    assert is_loopback(listen) is loopback


def test_no_warning_on_the_loopback() -> None:
    assert exposure_warning(_stack()) is None


def test_a_warning_when_open_to_the_network_with_development_secrets() -> None:
    warning = exposure_warning(_stack(GATEWAY_LISTEN="0.0.0.0"))
    assert warning is not None
    assert "WARNING" in warning
    for name in ("JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY", "ADMIN_PASSWORD", "ORDERS_CLIENT_SECRET"):
        assert f"    {name}\n" in warning
    # Setting a variable to its development value is still the development value.
    again = exposure_warning(_stack(GATEWAY_LISTEN="0.0.0.0", JWT_PRIVATE_KEY=DEV_JWT_PRIVATE_KEY))
    assert again is not None
    assert "    JWT_PRIVATE_KEY\n" in again


def test_no_warning_when_every_secret_is_set() -> None:
    secrets = dict.fromkeys(
        (
            "JWT_PRIVATE_KEY",
            "JWT_PUBLIC_KEY",
            "ADMIN_PASSWORD",
            "ORDERS_CLIENT_SECRET",
            "CATALOG_CLIENT_SECRET",
            "REPORTS_CLIENT_SECRET",
        ),
        "a-real-secret-of-some-length",
    )
    assert exposure_warning(_stack(GATEWAY_LISTEN="0.0.0.0", **secrets)) is None
