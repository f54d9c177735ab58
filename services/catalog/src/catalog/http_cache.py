"""HTTP caching of public reads: `ETag`, `If-None-Match` -> 304, `Cache-Control`."""

from __future__ import annotations

from starlette.responses import Response

from mercato_shared.near_cache import Entry


def matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 13.1.2: `*`, or any listed tag equal to `etag` by weak comparison."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


def public_json(entry: Entry, if_none_match: str | None, max_age: int) -> Response:
    """The JSON body with its tag and `Cache-Control: public`, or a 304 when the tag matches."""
    headers = {"ETag": entry.etag, "Cache-Control": f"public, max-age={max_age}"}
    if matches(if_none_match, entry.etag):
        return Response(status_code=304, headers=headers)
    return Response(entry.body, media_type="application/json", headers=headers)
