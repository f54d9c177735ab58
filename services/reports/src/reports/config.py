"""Reports settings (the API's; the workers extend them with their own)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, PositiveFloat

from mercato_shared.settings import BaseServiceSettings


class ReportsSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "reports"
    database_name: ClassVar[str | None] = "reports"

    celery_broker_url: str | None = Field(
        default=None, description="Celery broker; REDIS_URL when unset."
    )
    celery_result_backend: str | None = Field(
        default=None, description="Celery result backend; REDIS_URL when unset."
    )
    public_base_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^/?#\s]+(?:/[^?#\s]*)?$",
        description="The gateway's URL as clients reach it (https://shop.example.com): the "
        "`Location` of an accepted job is built from it, never from the request's Host; "
        "unset, `Location` is a path (/api/reports/reports/<id>).",
    )
    celery_publish_timeout: PositiveFloat = Field(
        default=2.0,
        description="Seconds a POST /reports waits to hand a job to the broker before "
        "leaving it to the sweeper.",
    )

    # A customer's report quota (reports.quota): jobs queued or running at once, jobs
    # submitted per hour, and the Retry-After of a refusal for being in flight.
    report_max_in_flight_per_user: int = Field(default=3, ge=1, le=1000)
    report_max_per_hour_per_user: int = Field(default=30, ge=1, le=100_000)
    report_quota_retry_seconds: int = Field(default=5, ge=1, le=3600)

    @property
    def broker_url(self) -> str:
        return self.celery_broker_url or self.redis_url

    @property
    def result_backend(self) -> str:
        return self.celery_result_backend or self.redis_url
