"""Checkout app factory (`python -m mercato_shared.serve` serves it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from checkout.api import router
from checkout.clients import CATALOG, PARTNERS, CatalogClient, PartnersClient
from checkout.config import CheckoutSettings
from checkout.service import QuoteService
from checkout.stack import DEPENDENCIES
from mercato_shared.app import create_app as create_service_app
from mercato_shared.cache import Cache
from mercato_shared.health import READINESS_DETAILS_KEY
from mercato_shared.internal_client import InternalClient
from mercato_shared.resilience import BreakerRegistry, CallPolicy, OutboundCaller
from mercato_shared.resources import Resources


def call_policy(settings: CheckoutSettings) -> CallPolicy:
    backoff = settings.partner_backoff_ms / 1000
    return CallPolicy(
        timeout_seconds=settings.partner_timeout_ms / 1000,
        max_attempts=settings.partner_retry_attempts,
        backoff_initial_seconds=backoff,
        backoff_max_seconds=backoff * 8,
        backoff_jitter_seconds=backoff,
        max_concurrency=settings.partner_max_concurrency,
    )


def create_app(settings: CheckoutSettings | None = None) -> FastAPI:
    """The app; its calls to other services go to the URLs its settings name."""
    settings = settings or CheckoutSettings()

    @asynccontextmanager
    async def lifespan(resources: Resources) -> AsyncIterator[Mapping[str, Any]]:
        redis = resources.require_redis()
        breakers = BreakerRegistry(
            failure_threshold=settings.breaker_failure_threshold,
            recovery_seconds=settings.breaker_recovery_seconds,
        )
        caller = OutboundCaller(breakers, call_policy(settings))
        await caller.start([CATALOG, *PARTNERS])
        cache = Cache(redis, namespace="checkout", ttl_seconds=settings.cache_ttl_seconds)
        catalog = CatalogClient(
            InternalClient(
                resources.http,
                caller,
                service=CATALOG,
                base_url=settings.catalog_url,
                timeout_seconds=settings.catalog_timeout_ms / 1000,
                deadline_seconds=settings.quote_deadline_ms / 1000,
            )
        )
        partners = PartnersClient(
            resources.http,
            caller,
            cache,
            base_url=settings.partners_url,
            fx_ttl_seconds=settings.fx_cache_ttl_seconds,
            fx_local_ttl_seconds=settings.fx_local_ttl_seconds,
            shipping_ttl_seconds=settings.shipping_cache_ttl_seconds,
        )
        yield {
            "quote_service": QuoteService(settings, catalog, partners),
            READINESS_DETAILS_KEY: lambda: {"circuit_breakers": breakers.snapshot()},
        }

    return create_service_app(
        settings,
        title="Mercato checkout",
        description="Quotes: catalog prices plus every carrier, tax and FX, asked concurrently.",
        routers=[router],
        dependencies=DEPENDENCIES,
        lifespan=lifespan,
    )
