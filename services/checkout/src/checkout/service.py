"""Quotes: read the cart's products, then ask every carrier, tax and FX at once.

Everything runs under one `Deadline` (`QUOTE_DEADLINE_MS`). Carriers are optional: a carrier
that times out, fails or whose breaker is open is left out and the quote says `partial`.
Tax is required, and so is FX whenever a price must change currency: without them the
total cannot be computed, so the answer is 503 in the error shape.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

from checkout.clients import (
    CARRIERS,
    CATALOG,
    FX,
    TAX,
    CarrierQuote,
    CatalogClient,
    Parcel,
    PartnersClient,
    Product,
    TaxRate,
    carrier_partner,
)
from checkout.config import CheckoutSettings
from checkout.errors import SourceUnavailableError, UnknownProductError, UnsupportedCurrencyError
from checkout.money import BASE_CURRENCY, SUPPORTED_CURRENCIES, from_base, round_money, to_base
from checkout.schemas import (
    QuoteLineOut,
    QuoteOut,
    QuoteRequest,
    ShippingOption,
    SourceOut,
    SourceStatus,
    TaxOut,
    TotalOut,
)
from checkout.weights import parcel_weight
from mercato_shared.resilience import Deadline, classify
from mercato_shared.telemetry import AttributeValue, annotate

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SourceResult(Generic[T]):
    value: T | None
    status: SourceStatus
    latency_ms: float
    cached: bool = False

    def report(self) -> SourceOut:
        return SourceOut(status=self.status, latency_ms=self.latency_ms, cached=self.cached)


async def gather_source(
    work: Awaitable[T], deadline: Deadline, calls: list[str] | None = None, name: str = ""
) -> SourceResult[T]:
    """Await one source within what is left of the deadline; never raises (but cancellation).

    The cap matters for answers shared through the cache's single flight: a request that
    joins another's load must not wait past its own deadline.
    """
    started = time.perf_counter()
    try:
        async with asyncio.timeout(deadline.remaining()):
            value = await work
    except Exception as exc:  # every failure of a source is reported, not raised
        elapsed = round((time.perf_counter() - started) * 1000, 1)
        status: SourceStatus = classify(exc).value
        return SourceResult(None, status, elapsed)
    elapsed = round((time.perf_counter() - started) * 1000, 1)
    cached = calls is not None and name not in calls
    return SourceResult(value, "ok", elapsed, cached)


class QuoteService:
    def __init__(
        self, settings: CheckoutSettings, catalog: CatalogClient, partners: PartnersClient
    ) -> None:
        self._settings = settings
        self._catalog = catalog
        self._partners = partners

    async def quote(self, request: QuoteRequest) -> QuoteOut:
        if request.currency not in SUPPORTED_CURRENCIES:
            raise UnsupportedCurrencyError(request.currency, sorted(SUPPORTED_CURRENCIES))
        deadline = Deadline(self._settings.quote_deadline_ms / 1000)
        products = await self._products([line.product_id for line in request.items], deadline)
        quantities = {line.product_id: line.quantity for line in request.items}
        parcel = Parcel(
            country=request.destination.country,
            postal_code=request.destination.postal_code,
            weight_grams=parcel_weight([(p.category, quantities[p.id]) for p in products]),
            items=sum(quantities.values()),
        )
        needs_fx = request.currency != BASE_CURRENCY or any(
            p.currency != BASE_CURRENCY for p in products
        )
        calls: list[str] = []
        async with asyncio.TaskGroup() as group:
            tax_task = group.create_task(
                gather_source(self._partners.tax_rate(parcel.country, deadline), deadline)
            )
            fx_task = (
                group.create_task(
                    gather_source(self._partners.fx_rates(deadline, calls), deadline, calls, FX)
                )
                if needs_fx
                else None
            )
            # Every carrier's cached answer in one round trip, while tax and FX are asked.
            cached = await self._partners.cached_carrier_quotes(parcel)
            carrier_tasks = {
                carrier_partner(carrier): group.create_task(
                    gather_source(
                        self._partners.carrier_quote(
                            carrier, parcel, deadline, calls, cached.get(carrier)
                        ),
                        deadline,
                        calls,
                        carrier_partner(carrier),
                    )
                )
                for carrier in CARRIERS
            }
        carriers = {name: task.result() for name, task in carrier_tasks.items()}
        tax = tax_task.result()
        fx = fx_task.result() if fx_task is not None else None
        sources = {name: result.report() for name, result in carriers.items()}
        sources[TAX] = tax.report()
        if fx is not None:
            sources[FX] = fx.report()
        annotate(**{"mercato.quote.sources": source_statuses(sources)})
        if tax.value is None:
            raise SourceUnavailableError(TAX, tax.status)
        if fx is not None and fx.value is None:
            raise SourceUnavailableError(FX, fx.status)
        quotes = [result.value for result in carriers.values() if result.value is not None]
        quote = build_quote(
            request,
            products=products,
            carrier_quotes=quotes,
            tax_rate=tax.value,
            rates=fx.value.rates if fx is not None and fx.value is not None else {},
            sources=sources,
        )
        annotate(**quote_attributes(quote))
        return quote

    async def _products(self, product_ids: list[int], deadline: Deadline) -> list[Product]:
        """The cart's products, read concurrently; unknown ids -> 422, catalog down -> 503."""
        results = await asyncio.gather(
            *(gather_source(self._catalog.product(pid, deadline), deadline) for pid in product_ids)
        )
        failed = next((r for r in results if r.status != "ok"), None)
        if failed is not None:
            raise SourceUnavailableError(CATALOG, failed.status)
        missing = [pid for pid, r in zip(product_ids, results, strict=True) if r.value is None]
        if missing:
            raise UnknownProductError(missing)
        return [r.value for r in results if r.value is not None]


def build_quote(
    request: QuoteRequest,
    *,
    products: list[Product],
    carrier_quotes: list[CarrierQuote],
    tax_rate: TaxRate,
    rates: Mapping[str, Decimal],
    sources: dict[str, SourceOut],
) -> QuoteOut:
    """The quote's money, following the rounding rules of `checkout.money` (pure)."""
    quantities = {line.product_id: line.quantity for line in request.items}
    lines = [
        QuoteLineOut(
            product_id=p.id,
            name=p.name,
            quantity=quantities[p.id],
            unit_price=p.price,
            line_total=p.price * quantities[p.id],
            currency=p.currency,
        )
        for p in products
    ]
    subtotal = round_money(
        sum((to_base(line.line_total, line.currency, rates) for line in lines), Decimal(0)),
        BASE_CURRENCY,
    )
    tax_amount = round_money(subtotal * tax_rate.rate, BASE_CURRENCY)
    options = sorted(
        (
            ShippingOption(
                carrier=q.carrier,
                service_level=q.service_level,
                price=q.price,
                currency=q.currency,
                estimated_days=q.estimated_days,
            )
            for q in carrier_quotes
        ),
        key=lambda option: (option.price, option.estimated_days),
    )
    cheapest = options[0] if options else None
    total_base = subtotal + tax_amount + (cheapest.price if cheapest else Decimal(0))
    currency = request.currency
    return QuoteOut(
        items=lines,
        subtotal=subtotal,
        shipping_options=options,
        tax=TaxOut(country=request.destination.country, rate=tax_rate.rate, amount=tax_amount),
        total=TotalOut(
            amount=from_base(total_base, currency, rates),
            currency=currency,
            fx_rate=Decimal(1) if currency == BASE_CURRENCY else rates[currency],
            shipping_carrier=cheapest.carrier if cheapest else None,
        ),
        partial=any(sources[carrier_partner(c)].status != "ok" for c in CARRIERS),
        sources=sources,
    )


def source_statuses(sources: Mapping[str, SourceOut]) -> list[str]:
    """`partner=status` per source, for the request's span (`tax=timeout`, ...)."""
    return [f"{name}={source.status}" for name, source in sorted(sources.items())]


def quote_attributes(quote: QuoteOut) -> dict[str, AttributeValue]:
    """What a reader of the quote's trace wants without opening the response body.

    (`mercato.quote.sources` is set before, so that a 503 for a missing source has it too.)
    """
    return {
        "mercato.quote.partial": quote.partial,
        "mercato.quote.lines": len(quote.items),
        "mercato.quote.shipping_options": len(quote.shipping_options),
        "mercato.quote.currency": quote.total.currency,
        "mercato.quote.total": float(quote.total.amount),
    }
