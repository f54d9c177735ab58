"""Opaque keyset cursors: the last row's key, base64url encoded."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from orders.errors import InvalidCursorError


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise InvalidCursorError from exc


def encode_id_cursor(last_id: int) -> str:
    return _encode(f"o:{last_id}")


def decode_id_cursor(cursor: str) -> int:
    text = _decode(cursor)
    if not text.startswith("o:") or not text[2:].isdigit() or int(text[2:]) > 2**63 - 1:
        raise InvalidCursorError
    return int(text[2:])


def encode_time_cursor(created_at: datetime, last_id: int) -> str:
    return _encode(f"t:{created_at.isoformat()}|{last_id}")


def decode_time_cursor(cursor: str) -> tuple[datetime, int]:
    text = _decode(cursor)
    stamp, _, last_id = text[2:].partition("|")
    if not text.startswith("t:") or not last_id.isdigit() or int(last_id) > 2**63 - 1:
        raise InvalidCursorError
    try:
        created_at = datetime.fromisoformat(stamp)
    except ValueError as exc:
        raise InvalidCursorError from exc
    if created_at.tzinfo is None:
        raise InvalidCursorError
    return created_at, int(last_id)
