"""`Reply`: an HTTP answer read whole, as a small frozen value of our own.

What an outbound call returns (`mercato_shared.http.send`, `InternalClient`): the status,
the body's bytes and the headers, read inside the call, so the connection is back in the pool
before the caller looks at it, and no library's response object leaves the call.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mercato_shared.resilience.outcomes import StatusError


@dataclass(frozen=True, slots=True)
class Reply:
    status_code: int
    content: bytes
    # Case-insensitive (aiohttp's read-only view of the answer's headers).
    headers: Mapping[str, str]
    url: str = ""

    def json(self) -> Any:
        """The body as JSON (`ValueError` when it is not)."""
        return jsonlib.loads(self.content)

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def raise_for_status(self) -> None:
        """`StatusError` for an error status (>= 400); nothing otherwise."""
        if self.status_code >= 400:
            raise StatusError(self.status_code, self.url)
