"""The Celery application: broker and queues from settings, reliability options, signals.

* `task_acks_late` + `task_reject_on_worker_lost`: a message is acknowledged only after its
  task returns, and a child killed mid-task (OOM, kill -9, hard time limit) puts it back.
* `worker_prefetch_multiplier=1` (and `-O fair` on the command line): a child reserves one
  job at a time, so a long report does not sit on messages another child could run.
* Two queues: `reports` for CPU-bound jobs and `periodic` for the beat's jobs, so a burst of
  reports cannot starve the sweeper (run one worker per queue to isolate them fully).
* Soft and hard time limits; the task's own deadline (`REPORT_SOFT_TIME_LIMIT`) fails the
  job cleanly first, Celery's soft limit is a margin behind it and the hard limit kills.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from celery import Celery, signals
from kombu.entity import Queue

from mercato_shared.gc_tuning import tune_gc
from mercato_shared.logging import configure_logging
from mercato_shared.telemetry import init_telemetry
from mercato_shared.telemetry.celery import instrument_celery_metrics
from reports.queue import GENERATE_TASK, PERIODIC_QUEUE, REPORTS_QUEUE, SWEEP_TASK
from workers.config import WorkerSettings
from workers.priority import apply_cpu_policy
from workers.runtime import RuntimeHolder
from workers.tasks import register_tasks

logger = logging.getLogger("mercato.workers")


def celery_config(settings: WorkerSettings) -> dict[str, Any]:
    soft = settings.report_soft_time_limit + 15
    return {
        "broker_url": settings.broker_url,
        "result_backend": settings.result_backend,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "visibility_timeout": settings.visibility_timeout,
            "socket_timeout": 5,
            "socket_connect_timeout": 5,
        },
        "result_expires": 3600,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_queues": (Queue(REPORTS_QUEUE), Queue(PERIODIC_QUEUE)),  # type: ignore[no-untyped-call]
        "task_default_queue": REPORTS_QUEUE,
        "task_routes": {
            GENERATE_TASK: {"queue": REPORTS_QUEUE},
            SWEEP_TASK: {"queue": PERIODIC_QUEUE},
        },
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,
        "task_track_started": True,
        "task_soft_time_limit": soft,
        "task_time_limit": max(settings.report_hard_time_limit, soft + 5),
        "worker_prefetch_multiplier": 1,
        "worker_concurrency": settings.worker_concurrency,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "beat_schedule_filename": str(Path(settings.mercato_run_dir) / "celerybeat-schedule"),
        "beat_schedule": {
            "sweep-report-jobs": {
                "task": SWEEP_TASK,
                "schedule": settings.sweep_interval_seconds,
                "options": {"queue": PERIODIC_QUEUE, "expires": settings.sweep_interval_seconds},
            },
        },
    }


def create_celery(settings: WorkerSettings | None = None) -> Celery:
    settings = settings or WorkerSettings()
    app = Celery("mercato")
    app.conf.update(celery_config(settings))
    holder = RuntimeHolder(settings)
    register_tasks(app, holder, settings)

    def process_init(**_: Any) -> None:
        # In each prefork child: telemetry and the runtime are per process, never forked.
        apply_cpu_policy(settings.worker_cpu_policy)
        configure_logging("worker", settings.log_level)
        if init_telemetry("worker"):
            instrument_celery_metrics(app)
        holder.get()
        tune_gc(settings.gc_gen0_threshold)

    def process_shutdown(**_: Any) -> None:
        holder.close()

    def beat_init(**_: Any) -> None:
        configure_logging("beat", settings.log_level)
        init_telemetry("beat")

    def setup_logging(**_: Any) -> None:
        configure_logging("worker", settings.log_level)

    signals.worker_process_init.connect(process_init, weak=False)
    signals.worker_process_shutdown.connect(process_shutdown, weak=False)
    signals.worker_shutdown.connect(process_shutdown, weak=False)
    signals.beat_init.connect(beat_init, weak=False)
    signals.setup_logging.connect(setup_logging, weak=False)
    return app
