"""The services' default response class: JSON, and no `Content-Type` where there is no body.

A route declared with `status_code=204` answers through the app's default response class
with an empty body; Starlette's `JSONResponse` still labels it `application/json`. RFC 9110
(8.3) has a content type describe content, and a 204 or 304 has none, so this class sends
none for them.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi.responses import JSONResponse

#: Statuses that never have a body (RFC 9110 15.3.5, 15.4.5).
BODILESS_STATUSES = frozenset({204, 304})


class ServiceJSONResponse(JSONResponse):
    """`JSONResponse`, without `Content-Type` on a 204 or 304."""

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        super().init_headers(headers)
        if self.status_code in BODILESS_STATUSES:
            self.raw_headers = [
                (name, value) for name, value in self.raw_headers if name != b"content-type"
            ]
