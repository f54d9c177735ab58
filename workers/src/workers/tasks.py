"""The tasks: thin wiring from Celery to `report_job`, `periodic` and the runtime."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from celery import Celery

from mercato_shared.telemetry import annotate
from reports.queue import GENERATE_TASK, REPORTS_QUEUE, SWEEP_TASK
from workers.config import WorkerSettings
from workers.errors import TRANSIENT
from workers.periodic import sweep
from workers.report_job import ReportJobRunner
from workers.runtime import RuntimeHolder


def register_tasks(app: Celery, holder: RuntimeHolder, settings: WorkerSettings) -> None:
    @app.task(  # type: ignore[untyped-decorator]
        name=GENERATE_TASK,
        bind=True,
        autoretry_for=TRANSIENT,
        max_retries=settings.report_max_retries,
        retry_backoff=2,
        retry_backoff_max=60,
        retry_jitter=True,
        acks_late=True,
        reject_on_worker_lost=True,
    )
    def generate_report(task: Any, job_id: str) -> str:
        """Run one report job; idempotent (a finished or busy job is left alone)."""
        annotate(**{"mercato.report.id": job_id, "mercato.report.retries": task.request.retries})
        runtime = holder.get()
        runner = ReportJobRunner(runtime.sessions, runtime.orders, settings)
        return runtime.run(runner.run(uuid.UUID(job_id)))

    @app.task(name=SWEEP_TASK, ignore_result=True)  # type: ignore[untyped-decorator]
    def sweep_report_jobs() -> int:
        """Re-enqueue report jobs whose message was lost or whose worker died."""
        runtime = holder.get()

        async def enqueue(job_id: uuid.UUID) -> None:
            # kombu publishes synchronously: keep the loop (and its heartbeats) free.
            await asyncio.to_thread(
                app.send_task, GENERATE_TASK, args=[str(job_id)], queue=REPORTS_QUEUE
            )

        return runtime.run(sweep(runtime.sessions, settings, enqueue))
