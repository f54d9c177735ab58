"""`db.client.connection.count` (state = idle | used, pool.name) read from a SQLAlchemy pool."""

from __future__ import annotations

import weakref
from collections.abc import Iterable

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool


def pool_observations(pool: QueuePool, pool_name: str) -> list[Observation]:
    used = pool.checkedout()
    return [
        Observation(used, {"state": "used", "pool.name": pool_name}),
        Observation(pool.checkedin(), {"state": "idle", "pool.name": pool_name}),
    ]


def observe_pool(engine: AsyncEngine) -> None:
    """Register an observable gauge read at each metric export (no per-request cost).

    The callback holds the pool weakly: a disposed, collected engine reports nothing.
    """
    pool = engine.sync_engine.pool
    if not isinstance(pool, QueuePool):
        return
    pool_ref = weakref.ref(pool)
    pool_name = engine.url.database or "default"

    def observe(_: CallbackOptions) -> Iterable[Observation]:
        current = pool_ref()
        return [] if current is None else pool_observations(current, pool_name)

    metrics.get_meter("mercato.db").create_observable_up_down_counter(
        "db.client.connection.count",
        callbacks=[observe],
        unit="{connection}",
        description="Connections of the process's pool by state (idle, used).",
    )
