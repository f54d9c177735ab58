"""Entity tags and conditional reads (no I/O)."""

from __future__ import annotations

from catalog.http_cache import matches, public_json
from mercato_shared.near_cache import Entry

ENTRY = Entry.of(b'{"id":7}')


def test_entity_tags_follow_the_bytes() -> None:
    assert Entry.of(b'{"id":7}').etag == ENTRY.etag
    assert Entry.of(b'{"id":8}').etag != ENTRY.etag


def test_if_none_match_compares_weakly_and_understands_lists_and_star() -> None:
    assert matches(ENTRY.etag, ENTRY.etag)
    assert matches(f'"other", W/{ENTRY.etag}', ENTRY.etag)
    assert matches(" * ", ENTRY.etag)
    assert not matches(None, ENTRY.etag)
    assert not matches("", ENTRY.etag)
    assert not matches('"other"', ENTRY.etag)
    assert not matches(ENTRY.etag.strip('"'), ENTRY.etag)


def test_a_current_tag_is_answered_304_without_a_body() -> None:
    response = public_json(ENTRY, ENTRY.etag, max_age=1)
    assert response.status_code == 304
    assert response.body == b""
    assert response.headers["etag"] == ENTRY.etag
    assert response.headers["cache-control"] == "public, max-age=1"


def test_otherwise_the_body_is_served_with_its_tag() -> None:
    response = public_json(ENTRY, '"stale"', max_age=0)
    assert response.status_code == 200
    assert response.body == b'{"id":7}'
    assert response.headers["content-type"] == "application/json"
    assert response.headers["etag"] == ENTRY.etag
    assert response.headers["cache-control"] == "public, max-age=0"
