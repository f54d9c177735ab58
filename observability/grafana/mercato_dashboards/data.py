"""Mercato / Data: the Postgres connection pools and the Redis cache."""

from __future__ import annotations

from mercato_dashboards.panels import (
    RATE,
    SVC,
    Json,
    Layout,
    color_override,
    dashboard,
    prom,
    prom_var,
    stat,
    timeseries,
)


def build() -> Json:
    pool = "db_client_connection_count"
    cache = "mercato_cache_requests_total"
    lay = Layout()
    lay.row("Database connection pools — db.client.connection.count")
    lay.add(
        timeseries(
            "Connections by state",
            [
                prom(
                    f"sum by (job, pool_name, state) ({pool}{{{SVC}}})",
                    "{{job}} {{pool_name}} {{state}}",
                )
            ],
            "short",
            stack=True,
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Pool utilisation (used / open)",
            [
                prom(
                    f'sum by (job, pool_name) ({pool}{{{SVC}, state="used"}})'
                    f" / sum by (job, pool_name) ({pool}{{{SVC}}})",
                    "{{job}} {{pool_name}}",
                )
            ],
            "percentunit",
            description="Near 100% for long means requests wait for a connection: size the pool.",
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Client call p95 (SQL, Redis, HTTP) from spans",
            [
                prom(
                    "histogram_quantile(0.95, sum by (job, span_name, le) "
                    "(rate(traces_spanmetrics_duration_seconds_bucket"
                    f'{{{SVC}, span_kind="SPAN_KIND_CLIENT"}}[{RATE}])))',
                    "{{job}} {{span_name}}",
                    exemplar=True,
                )
            ],
            "s",
            description="From the collector's spanmetrics connector; exemplars open the trace.",
        ),
        24,
        8,
    )
    lay.row("Cache — mercato.cache.requests")
    lay.add(
        stat(
            "Hit ratio",
            prom(
                f'sum(rate({cache}{{{SVC}, result="hit"}}[{RATE}]))'
                f" / sum(rate({cache}{{{SVC}}}[{RATE}]))"
            ),
            "percentunit",
            thresholds=[(None, "red"), (0.5, "orange"), (0.8, "green")],
        ),
        8,
        4,
    )
    lay.add(
        stat(
            "Requests / s",
            prom(f"sum(rate({cache}{{{SVC}}}[{RATE}]))"),
            "reqps",
        ),
        8,
        4,
    )
    lay.add(
        stat(
            "Error ratio",
            prom(
                f'(sum(rate({cache}{{{SVC}, result="error"}}[{RATE}])) or vector(0))'
                f" / sum(rate({cache}{{{SVC}}}[{RATE}]))"
            ),
            "percentunit",
            thresholds=[(None, "green"), (0.001, "orange"), (0.01, "red")],
            description=(
                "Errors mean Redis is failing: requests fall back to Postgres (slower, not broken)."
            ),
        ),
        8,
        4,
    )
    lay.add(
        timeseries(
            "Hit ratio by cache",
            [
                prom(
                    f'sum by (job, cache_name) (rate({cache}{{{SVC}, result="hit"}}[{RATE}]))'
                    f" / sum by (job, cache_name) (rate({cache}{{{SVC}}}[{RATE}]))",
                    "{{job}} {{cache_name}}",
                )
            ],
            "percentunit",
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Requests by result (hit / miss / error)",
            [prom(f"sum by (result) (rate({cache}{{{SVC}}}[{RATE}]))", "{{result}}")],
            "reqps",
            stack=True,
            overrides=[
                color_override("hit", "green"),
                color_override("miss", "orange"),
                color_override("error", "red"),
            ],
        ),
        12,
        8,
    )
    return dashboard(
        "mercato-data",
        "Mercato / Data (Postgres pools, Redis cache)",
        "Connection pool occupancy per service and cache-aside effectiveness.",
        lay,
        [prom_var("service", "Service", pool, "job")],
    )
