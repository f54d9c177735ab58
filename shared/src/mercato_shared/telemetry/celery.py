"""Celery: publish/run spans that continue the HTTP request's trace, and the Celery metrics.

Nothing to call for spans and task metrics: `init_telemetry` calls `instrument_celery_process`
in every process where Celery is installed, so

* a publisher (the reports API) gets a PRODUCER span per `send_task`/`apply_async`, and the
  message headers carry `traceparent`;
* a worker child, which calls `init_telemetry` in `worker_process_init`, gets a CONSUMER
  span per task run that continues the publisher's trace, the task metrics, and a flush of
  every signal in `worker_process_shutdown` (prefork children leave with `os._exit`, which
  skips the SDK's atexit flush).

One call is left to the worker, because it needs the app: `instrument_celery_metrics(app)`
after `init_telemetry` in `worker_process_init` adds the queue depth gauge.

Metrics (names as `observability/README.md` promises the dashboards):

* `mercato.celery.task.duration` (s; `task`, `outcome` = success | failure | retry), recorded
  in the run span's context so sampled tasks leave exemplars;
* `mercato.celery.task.failures` (`task`);
* `mercato.celery.queue.depth` (`queue`): LLEN of each queue on the Redis broker, read by
  the metric reader's thread at each export (never on a task's path).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

from celery import signals
from opentelemetry import context, metrics
from opentelemetry.context import Context
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.metrics import CallbackOptions, Observation
from redis import Redis
from redis.exceptions import RedisError

from mercato_shared.telemetry.buckets import DURATION_BUCKETS
from mercato_shared.telemetry.state import flush_telemetry, telemetry_active

logger = logging.getLogger("mercato.telemetry")

_QUEUE_PROBE_TIMEOUT_SECONDS = 1.0


def instrument_celery_process() -> None:
    """Task spans (publish and run, with propagation), task metrics, flush on child exit.

    Called by `init_telemetry`; the span handlers connect first, so the metrics handlers
    see the run span as the current context.
    """
    CeleryInstrumentor().instrument()  # type: ignore[no-untyped-call]
    TaskMetrics().connect()
    signals.worker_process_shutdown.connect(_flush, weak=False)


def _flush(**_: Any) -> None:
    flush_telemetry()


class TaskMetrics:
    """Task duration and failures from Celery's signals (one instance per process)."""

    def __init__(self) -> None:
        meter = metrics.get_meter("mercato.celery")
        self._duration = meter.create_histogram(
            "mercato.celery.task.duration",
            unit="s",
            description="Run time of Celery tasks by task and outcome.",
            explicit_bucket_boundaries_advisory=(*DURATION_BUCKETS, 30.0, 60.0, 120.0),
        )
        self._failures = meter.create_counter(
            "mercato.celery.task.failures", unit="{task}", description="Failed Celery tasks."
        )
        self._started: dict[str, tuple[float, Context]] = {}

    def prerun(self, task_id: str | None = None, **_: Any) -> None:
        if task_id is not None:
            self._started[task_id] = (time.perf_counter(), context.get_current())

    def postrun(
        self, task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any
    ) -> None:
        entry = self._started.pop(task_id, None) if task_id is not None else None
        if entry is None:
            return
        started, ctx = entry
        attributes = {"task": str(getattr(task, "name", "unknown")), "outcome": _outcome(state)}
        self._duration.record(time.perf_counter() - started, attributes, context=ctx)

    def failure(self, sender: Any = None, **_: Any) -> None:
        self._failures.add(1, {"task": str(getattr(sender, "name", "unknown"))})

    def connect(self) -> None:
        signals.task_prerun.connect(self.prerun, weak=False)
        signals.task_postrun.connect(self.postrun, weak=False)
        signals.task_failure.connect(self.failure, weak=False)


def _outcome(state: str | None) -> str:
    return (state or "unknown").lower()


def queue_depth_observations(client: Redis, queues: Sequence[str]) -> list[Observation]:
    observations = []
    for queue in queues:
        try:
            depth = int(client.llen(queue))
        except (RedisError, OSError) as exc:
            logger.warning("queue depth probe failed", extra={"queue": queue, "error": repr(exc)})
            continue
        observations.append(Observation(depth, {"queue": queue}))
    return observations


def instrument_celery_metrics(app: Any, *, queues: Sequence[str] | None = None) -> None:
    """The queue depth gauge, on a Redis broker (task metrics are already on, see above).

    `queues` defaults to the app's configured queues (or `celery`).
    """
    if not telemetry_active():
        return
    broker_url = str(app.conf.broker_url or "")
    if not broker_url.startswith(("redis://", "rediss://")):
        return
    names = list(queues or [q.name for q in (app.conf.task_queues or ())] or ["celery"])
    client = Redis.from_url(
        broker_url,
        socket_timeout=_QUEUE_PROBE_TIMEOUT_SECONDS,
        socket_connect_timeout=_QUEUE_PROBE_TIMEOUT_SECONDS,
    )

    def observe(_: CallbackOptions) -> Iterable[Observation]:
        return queue_depth_observations(client, names)

    metrics.get_meter("mercato.celery").create_observable_gauge(
        "mercato.celery.queue.depth",
        callbacks=[observe],
        unit="{message}",
        description="Messages waiting in each Celery queue on the broker.",
    )
