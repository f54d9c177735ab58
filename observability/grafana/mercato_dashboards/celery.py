"""Mercato / Celery: queue depth, task throughput, duration and failures."""

from __future__ import annotations

from mercato_dashboards.panels import (
    RATE,
    Json,
    Layout,
    dashboard,
    heatmap,
    logs,
    prom,
    prom_var,
    stat,
    textbox,
    timeseries,
)


def build() -> Json:
    dur = "mercato_celery_task_duration_seconds"
    fail = "mercato_celery_task_failures_total"
    depth = "mercato_celery_queue_depth"
    task = 'task=~"$task"'
    lay = Layout()
    lay.row("Queues and throughput")
    lay.add(
        stat("Queued messages", prom(f'sum(max by (queue) ({depth}{{queue=~"$queue"}}))'), "short"),
        6,
        4,
    )
    lay.add(stat("Tasks / s", prom(f"sum(rate({dur}_count{{{task}}}[{RATE}]))"), "ops"), 6, 4)
    lay.add(
        stat(
            "Failures (last 1h)",
            prom(f"sum(increase({fail}{{{task}}}[1h])) or vector(0)"),
            "short",
            thresholds=[(None, "green"), (1, "orange"), (10, "red")],
        ),
        6,
        4,
    )
    lay.add(
        stat(
            "p95 task duration",
            prom(f"histogram_quantile(0.95, sum by (le) (rate({dur}_bucket{{{task}}}[{RATE}])))"),
            "s",
        ),
        6,
        4,
    )
    lay.add(
        timeseries(
            "Queue depth by queue",
            [prom(f'max by (queue) ({depth}{{queue=~"$queue"}})', "{{queue}}")],
            "short",
            description="Messages waiting in the broker. Growing = workers cannot keep up.",
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Throughput by task and outcome",
            [
                prom(
                    f"sum by (task, outcome) (rate({dur}_count{{{task}}}[{RATE}]))",
                    "{{task}} {{outcome}}",
                )
            ],
            "ops",
            stack=True,
        ),
        12,
        8,
    )
    lay.row("Duration and failures")
    lay.add(
        timeseries(
            "Task duration p50 / p95 by task",
            [
                prom(
                    f"histogram_quantile({q}, sum by (task, le) "
                    f"(rate({dur}_bucket{{{task}}}[{RATE}])))",
                    f"{{{{task}}}} p{int(q * 100)}",
                    ref,
                    exemplar=True,
                )
                for q, ref in ((0.5, "A"), (0.95, "B"))
            ],
            "s",
            description=(
                "Exemplars link to the trace that started the task (context flows HTTP -> task)."
            ),
        ),
        12,
        8,
    )
    lay.add(
        heatmap(
            "Task duration distribution",
            f"sum by (le) (increase({dur}_bucket{{{task}}}[{RATE}]))",
            description="Histogram buckets over time; exemplars are drawn on top.",
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Failures by task",
            [prom(f"sum by (task) (rate({fail}{{{task}}}[{RATE}]))", "{{task}}")],
            "ops",
            description=(
                "mercato.celery.task.failures: tasks that failed for good (retries exhausted)."
            ),
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Failure ratio by task",
            [
                prom(
                    f"sum by (task) (rate({fail}{{{task}}}[{RATE}]))"
                    f" / sum by (task) (rate({dur}_count{{{task}}}[{RATE}]))",
                    "{{task}}",
                )
            ],
            "percentunit",
        ),
        12,
        8,
    )
    lay.row("Worker logs")
    lay.add(
        logs("Worker and beat logs", '{service_name=~"worker|beat"} |~ "(?i)$search"'),
        24,
        10,
    )
    return dashboard(
        "mercato-celery",
        "Mercato / Celery",
        "Queue depth, task throughput, duration and failures of the Celery workers.",
        lay,
        [
            prom_var("queue", "Queue", depth, "queue"),
            prom_var("task", "Task", f"{dur}_count", "task"),
            textbox("search", "Log search"),
        ],
    )
