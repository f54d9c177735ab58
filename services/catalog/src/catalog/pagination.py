"""Catalog's keyset cursors: the last product id of a page (`mercato_shared.pagination`)."""

from __future__ import annotations

from typing import Final

from mercato_shared.pagination import ID_KEY, Cursor

PRODUCTS: Final = Cursor("p", ID_KEY)

encode_cursor = PRODUCTS.encode
decode_cursor = PRODUCTS.decode
