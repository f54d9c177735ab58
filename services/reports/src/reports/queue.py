"""Handing jobs to the Celery workers: the task names and queues both sides agree on.

The API only publishes (by task name, so it never imports the workers' code). Publishing is
a blocking kombu call, so it runs in a thread under a deadline: a broker that is down or slow
delays nothing but the hand-off, and the job, already committed as `queued`, is picked up
by the sweeper instead. That is why a POST /reports never fails because of Redis.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from celery import Celery

from reports.config import ReportsSettings

GENERATE_TASK = "reports.generate"
SWEEP_TASK = "reports.sweep"
REPORTS_QUEUE = "reports"
PERIODIC_QUEUE = "periodic"

# Two lanes in the reports queue. On Redis, kombu keeps one list per priority step (its
# default steps are 0, 3, 6 and 9, the same on both sides) and a worker pops the lists in
# that order, 0 first. A customer's job goes in the lane behind (a customer has at most a
# few in flight: reports.quota), so the customers' backlog never delays an admin's report;
# a job the sweeper publishes again has waited already and goes in the first lane.
FIRST_LANE = 0
CUSTOMER_LANE = 6

logger = logging.getLogger("mercato.reports.queue")


def producer_app(settings: ReportsSettings) -> Celery:
    """A publish-only Celery app: short broker timeouts, no retry loop on publish."""
    app = Celery("reports-api", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        broker_connection_timeout=settings.celery_publish_timeout,
        broker_connection_retry=False,
        broker_connection_max_retries=0,
        broker_transport_options={
            "socket_timeout": settings.celery_publish_timeout,
            "socket_connect_timeout": settings.celery_publish_timeout,
        },
        task_ignore_result=True,
    )
    return app


class JobQueue:
    def __init__(self, app: Celery, *, timeout: float) -> None:
        self._app = app
        self._timeout = timeout

    def _publish(self, job_id: uuid.UUID, lane: int) -> None:
        self._app.send_task(
            GENERATE_TASK, args=[str(job_id)], queue=REPORTS_QUEUE, retry=False, priority=lane
        )

    async def enqueue(self, job_id: uuid.UUID, *, lane: int = FIRST_LANE) -> bool:
        """Publish the job; False (logged) when the broker did not take it in time."""
        try:
            async with asyncio.timeout(self._timeout):
                await asyncio.to_thread(self._publish, job_id, lane)
        except Exception as exc:  # the sweeper re-enqueues whatever did not get through
            logger.warning(
                "could not enqueue report job; the sweeper will",
                extra={"job_id": str(job_id), "error": repr(exc)},
            )
            return False
        return True

    def close(self) -> None:
        self._app.close()


@contextmanager
def open_queue(settings: ReportsSettings) -> Iterator[JobQueue]:
    app = producer_app(settings)
    try:
        yield JobQueue(app, timeout=settings.celery_publish_timeout * 2)
    finally:
        app.close()
