"""What a test sees of a private server it may stop and start (the `own_redis` and
`own_postgres` fixtures of the repository's root conftest)."""

from __future__ import annotations

from typing import Protocol


class OwnServer(Protocol):
    """A server of the test's own on a port of its own: its URL, stopped and started at will."""

    @property
    def url(self) -> str: ...

    def stop(self) -> None: ...

    def start(self) -> None: ...
