"""Checkout settings."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, PositiveFloat, PositiveInt

from checkout.stack import DEFAULT_URLS
from mercato_shared.settings import BaseServiceSettings


class CheckoutSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "checkout"

    catalog_url: str = DEFAULT_URLS["catalog"]
    partners_url: str = DEFAULT_URLS["partners"]
    # The whole quote (catalog reads + partner fan-out) must answer within this budget.
    quote_deadline_ms: PositiveInt = 800
    # One call to a partner (one attempt), and one catalog read, at most.
    partner_timeout_ms: PositiveInt = 300
    catalog_timeout_ms: PositiveInt = 300
    # Attempts per idempotent partner call (1 = no retry); never past the deadline.
    partner_retry_attempts: int = Field(default=2, ge=1, le=5)
    partner_backoff_ms: PositiveInt = 20
    # Calls in flight to one partner from this process; more wait (within their timeout).
    partner_max_concurrency: PositiveInt = 20
    # Consecutive failures that open a partner's breaker, and how long it stays open.
    breaker_failure_threshold: PositiveInt = 5
    breaker_recovery_seconds: PositiveFloat = 5.0
    fx_cache_ttl_seconds: PositiveInt = 60
    # How long a process keeps the rates it read (within the Redis copy's TTL above); 0: not.
    fx_local_ttl_seconds: int = Field(default=10, ge=0, le=3600)
    shipping_cache_ttl_seconds: PositiveInt = 30
