"""Opaque keyset cursors: the last id of a page, base64url encoded."""

from __future__ import annotations

import base64
import binascii

from catalog.errors import InvalidCursorError

_PREFIX = "p:"


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise InvalidCursorError from exc
    if not text.startswith(_PREFIX) or not text[len(_PREFIX) :].isdigit():
        raise InvalidCursorError
    value = int(text[len(_PREFIX) :])
    if value > 2**63 - 1:
        raise InvalidCursorError
    return value
