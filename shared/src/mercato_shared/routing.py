"""Path segments for ids that never match a sibling route's name.

`GET /orders/{order_id}` beside `POST /orders/reservation-lookup`: with a plain `{order_id}`
the id route matches `reservation-lookup` too, so a GET there is a 422 (not an id) instead of
a 405, and the 405 of any other method lists the id route's GET in `Allow` as well. A
convertor whose pattern leaves out the siblings' names keeps each path on its own routes:

    register_id_segment("order_id", siblings=("export", "reservation-lookup"))
    @router.get("/{order_id:order_id}")

Any other segment still reaches the id routes, which validate it (422 when it is no id).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.convertors import Convertor, register_url_convertor


def register_id_segment(name: str, *, siblings: Iterable[str]) -> None:
    """Make `{param:name}` match one path segment that is none of `siblings`."""
    alternatives = "|".join(re.escape(sibling) for sibling in siblings)

    class SegmentExcept(Convertor[str]):
        regex = f"(?!(?:{alternatives})$)[^/]+"

        def convert(self, value: str) -> str:
            return value

        def to_string(self, value: str) -> str:
            return value

    register_url_convertor(name, SegmentExcept())
