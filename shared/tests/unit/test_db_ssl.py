"""`DB_SSL=auto`: no TLS handshake to a Postgres on this host, asyncpg's `prefer` elsewhere."""

from __future__ import annotations

import pytest

from mercato_shared.db import ssl_mode


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+asyncpg://postgres@127.0.0.1:5432", "disable"),
        ("postgresql+asyncpg://postgres@127.8.0.1", "disable"),
        ("postgresql+asyncpg://postgres@localhost:5432", "disable"),
        ("postgresql+asyncpg://postgres@[::1]:5432", "disable"),
        ("postgresql+asyncpg://postgres@db:5432", "prefer"),
        ("postgresql+asyncpg://postgres@10.0.0.7:5432", "prefer"),
        ("postgresql+asyncpg://u@postgres.example.com", "prefer"),
    ],
)
def test_auto_turns_tls_off_only_on_this_host(url: str, expected: str) -> None:
    assert ssl_mode(url, "auto") == expected


def test_an_explicit_mode_is_kept() -> None:
    assert ssl_mode("postgresql+asyncpg://postgres@127.0.0.1", "require") == "require"
    assert ssl_mode("postgresql+asyncpg://postgres@db", "disable") == "disable"
