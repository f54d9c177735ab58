"""Orders' keyset cursors (`mercato_shared.pagination`): a customer's orders are paged by
id, the export for reports by creation time and id."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from mercato_shared.pagination import ID_KEY, TIME_ID_KEY, Cursor

OWN_ORDERS: Final = Cursor("o", ID_KEY)
EXPORT: Final = Cursor("t", TIME_ID_KEY)

encode_id_cursor = OWN_ORDERS.encode
decode_id_cursor = OWN_ORDERS.decode


def encode_time_cursor(created_at: datetime, last_id: int) -> str:
    return EXPORT.encode((created_at, last_id))


def decode_time_cursor(cursor: str) -> tuple[datetime, int]:
    return EXPORT.decode(cursor)
