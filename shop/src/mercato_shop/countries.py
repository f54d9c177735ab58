"""`Country`: the destinations Mercato ships to (ISO 3166-1 alpha-2), one list for every service.

Checkout accepts a quote only for these, and the partners price, tax and zone exactly these;
a country added here must be added to the partners' tables (a test checks they match).
"""

from __future__ import annotations

from typing import Final, Literal, get_args

Country = Literal["DE", "FR", "NL", "BE", "AT", "IT", "ES", "GB", "CH", "US", "JP"]
COUNTRIES: Final[frozenset[str]] = frozenset(get_args(Country))
