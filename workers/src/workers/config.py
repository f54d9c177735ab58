"""Worker and beat settings: the reports service's, plus what only the back end needs."""

from __future__ import annotations

from typing import ClassVar, Final

from pydantic import Field, PositiveFloat, PositiveInt, model_validator

from reports.config import ReportsSettings
from workers.priority import CpuPolicy
from workers.stack import DEFAULT_URLS

DEV_CLIENT_SECRET: Final = "reports-dev-secret"  # noqa: S105 - public dev default, refused in production


class WorkerSettings(ReportsSettings):
    service_name: ClassVar[str] = "worker"
    development_defaults: ClassVar[tuple[str, ...]] = (
        *ReportsSettings.development_defaults,
        "reports_client_secret",
    )

    db_pool_size: PositiveInt = 4
    db_max_overflow: int = Field(default=0, ge=0)

    identity_url: str = DEFAULT_URLS["identity"]
    orders_url: str = DEFAULT_URLS["orders"]
    reports_client_id: str = Field(default="reports", min_length=1, max_length=64)
    reports_client_secret: str = Field(default=DEV_CLIENT_SECRET, min_length=16, max_length=256)
    orders_timeout: PositiveFloat = 5.0
    orders_retry_attempts: int = Field(default=4, ge=1, le=10)
    orders_deadline: PositiveFloat = 45.0

    worker_concurrency: PositiveInt = Field(default=2, le=64)
    worker_cpu_policy: CpuPolicy = Field(
        default="idle", description="Each child's scheduling policy (workers.priority)."
    )
    report_soft_time_limit: PositiveFloat = 240.0
    report_hard_time_limit: PositiveFloat = 300.0
    report_lease_seconds: PositiveFloat = Field(default=60.0, ge=3.0)
    report_max_attempts: PositiveInt = Field(default=5, le=50)
    report_max_retries: int = Field(default=5, ge=0, le=20)

    sweep_interval_seconds: PositiveFloat = 30.0
    sweep_queued_after_seconds: PositiveFloat = 120.0
    sweep_batch: PositiveInt = Field(default=500, le=10_000)

    mercato_run_dir: str = Field(
        default=".run/dev", description="The native stack's run directory: beat's schedule file."
    )

    @property
    def heartbeat_seconds(self) -> float:
        return self.report_lease_seconds / 4

    @property
    def visibility_timeout(self) -> int:
        """Seconds before Redis hands an unacknowledged message to another worker.

        Longer than any run can last (the hard limit) plus a margin, so a slow job is not
        delivered twice; a message held by a worker that died is redelivered after it. The
        sweeper, not this timeout, is what recovers quickly: it re-enqueues a running job
        as soon as its heartbeat is older than the lease.
        """
        return int(self.report_hard_time_limit * 1.2) + 60

    @model_validator(mode="after")
    def _consistent(self) -> WorkerSettings:
        if self.report_hard_time_limit <= self.report_soft_time_limit:
            msg = "REPORT_HARD_TIME_LIMIT must exceed REPORT_SOFT_TIME_LIMIT"
            raise ValueError(msg)
        return self
