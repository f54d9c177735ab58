"""Typed clients for catalog and the partners, over the process's shared `aiohttp` session.

Every call goes through the `OutboundCaller` (breaker, concurrency slot, per-call timeout
capped by the request's deadline, retries for these idempotent GETs) and, where the answer
may be reused, through the Redis cache with single flight. Catalog is a Mercato service:
its calls go through the shared `InternalClient`, which runs them on the same caller.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal, TypeVar

import aiohttp
from cachetools import TTLCache
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from checkout.money import MINOR_UNITS
from mercato_shared.cache import Cache
from mercato_shared.http import send
from mercato_shared.internal_client import InternalClient
from mercato_shared.resilience import Deadline, OutboundCaller

T = TypeVar("T")

CARRIERS: tuple[str, ...] = ("swift", "parcelpost", "freightline")
CATALOG = "catalog"
TAX = "tax"
FX = "fx"


def carrier_partner(carrier: str) -> str:
    return f"carrier-{carrier}"


PARTNERS: tuple[str, ...] = (*(carrier_partner(c) for c in CARRIERS), TAX, FX)


class Product(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int
    name: str
    price: Decimal
    currency: str
    category: str


# Partners are outside systems: their answers are validated like user input. An answer
# that does not fit (a currency we cannot add up, a zero rate) fails the source as `error`,
# so it becomes a partial quote or a 503, never a 500 or a wrong total.


class CarrierQuote(BaseModel):
    model_config = ConfigDict(extra="ignore")

    carrier: str
    service_level: str
    price: Annotated[Decimal, Field(ge=0, le=Decimal("100000"))]
    currency: Literal["EUR"]  # shipping is added to the EUR total as it is
    estimated_days: Annotated[int, Field(ge=0, le=365)]


class FxRates(BaseModel):
    model_config = ConfigDict(extra="ignore")

    base: Literal["EUR"]
    rates: dict[str, Annotated[Decimal, Field(gt=0)]]

    @model_validator(mode="after")
    def _every_supported_currency(self) -> FxRates:
        missing = sorted(set(MINOR_UNITS) - set(self.rates) - {self.base})
        if missing:
            msg = f"no rate for {', '.join(missing)}"
            raise ValueError(msg)
        return self


class TaxRate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    country: str
    rate: Decimal


@dataclass(frozen=True, slots=True)
class Parcel:
    country: str
    postal_code: str
    weight_grams: int
    items: int

    def cache_key(self, carrier: str) -> str:
        postal = self.postal_code.replace(" ", "").upper()
        return f"shipping:{carrier}:{self.country}:{postal}:{self.weight_grams}:{self.items}"


_CARRIER_QUOTE = TypeAdapter(CarrierQuote)
_FX_RATES = TypeAdapter(FxRates)


class CatalogClient:
    def __init__(self, catalog: InternalClient) -> None:
        self._catalog = catalog

    async def product(self, product_id: int, deadline: Deadline) -> Product | None:
        """The product, or None when catalog says it does not exist."""
        response = await self._catalog.get(f"/products/{product_id}", deadline=deadline)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return Product.model_validate_json(response.content)


class PartnersClient:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        caller: OutboundCaller,
        cache: Cache,
        *,
        base_url: str,
        fx_ttl_seconds: int,
        fx_local_ttl_seconds: int,
        shipping_ttl_seconds: int,
    ) -> None:
        self._http = http
        self._caller = caller
        self._cache = cache
        self._base_url = base_url.rstrip("/")
        self._fx_ttl = fx_ttl_seconds
        self._fx_kept: TTLCache[str, FxRates] = TTLCache(maxsize=1, ttl=fx_local_ttl_seconds)
        self._shipping_ttl = shipping_ttl_seconds

    async def _get_json(self, path: str, params: dict[str, str | int] | None = None) -> bytes:
        reply = await send(self._http, "GET", f"{self._base_url}{path}", params=params)
        reply.raise_for_status()  # `StatusError`: a fault (5xx, 429) counts, a 4xx does not
        return reply.content

    async def cached_carrier_quotes(self, parcel: Parcel) -> dict[str, bytes]:
        """Every carrier's cached answer for the parcel, in one round trip (by carrier)."""
        found = await self._cache.get_many([parcel.cache_key(carrier) for carrier in CARRIERS])
        return {carrier: raw for carrier, raw in zip(CARRIERS, found, strict=True) if raw}

    async def carrier_quote(
        self,
        carrier: str,
        parcel: Parcel,
        deadline: Deadline,
        calls: list[str],
        cached: bytes | None = None,
    ) -> CarrierQuote:
        """A carrier's price for the parcel; identical parcels share a cached answer.

        `cached` is what `cached_carrier_quotes` found (None: Redis has nothing, so the call
        is made, or joined while another request makes it). `calls` gets the partner's name
        appended when this request made the call itself.
        """
        partner = carrier_partner(carrier)
        if cached is not None:
            with suppress(ValidationError):  # an entry that no longer fits is a miss
                return CarrierQuote.model_validate_json(cached)
        params: dict[str, str | int] = {
            "country": parcel.country,
            "postal_code": parcel.postal_code,
            "weight_grams": parcel.weight_grams,
            "items": parcel.items,
        }

        async def load() -> CarrierQuote:
            calls.append(partner)
            raw = await self._caller.call(
                partner,
                lambda: self._get_json(f"/carriers/{carrier}/quote", params),
                deadline=deadline,
                idempotent=True,
            )
            return CarrierQuote.model_validate_json(raw)

        quote = await self._cache.get_or_load(
            parcel.cache_key(carrier),
            load,
            _CARRIER_QUOTE,
            ttl_seconds=self._shipping_ttl,
            known_missing=cached is None,
        )
        return _loaded(quote, partner)

    async def fx_rates(self, deadline: Deadline, calls: list[str]) -> FxRates:
        """Exchange rates per 1 EUR, cached for `FX_CACHE_TTL_SECONDS` in Redis and kept in
        this process for `FX_LOCAL_TTL_SECONDS` of that (no round trip per quote)."""
        kept = self._fx_kept.get(FX)
        if kept is not None:
            return kept

        async def load() -> FxRates:
            calls.append(FX)
            raw = await self._caller.call(
                FX, lambda: self._get_json("/fx/rates"), deadline=deadline, idempotent=True
            )
            return FxRates.model_validate_json(raw)

        rates = await self._cache.get_or_load("fx:EUR", load, _FX_RATES, ttl_seconds=self._fx_ttl)
        self._fx_kept[FX] = loaded = _loaded(rates, FX)
        return loaded

    async def tax_rate(self, country: str, deadline: Deadline) -> TaxRate:
        """The destination's tax rate (not cached: the tax service is the authority)."""
        raw = await self._caller.call(
            TAX,
            lambda: self._get_json("/tax/rate", {"country": country}),
            deadline=deadline,
            idempotent=True,
        )
        return TaxRate.model_validate_json(raw)


def _loaded(value: T | None, partner: str) -> T:
    """A cached or loaded answer; the loaders never return None, so None is a bug."""
    if value is None:
        msg = f"the cache returned nothing for {partner}"
        raise RuntimeError(msg)
    return value
