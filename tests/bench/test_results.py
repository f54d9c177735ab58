"""The bench's report: targets from the rows, the Markdown table, the README's markers."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench import results
from bench.__main__ import targets
from bench.goodput import Point, svg
from bench.results import ProcessMemory, Row, Run


def _row(scenario: str, variant: str, rps: float, p50: float, p99: float, **extra: object) -> Row:
    return Row(scenario, variant, rps, p50, math.nan, p99, requests=100, errors=0, **extra)  # type: ignore[arg-type]


ROWS = [
    _row("(a) hello world", "uvicorn, 2 workers", 8000, 3, 9),
    _row("(b) product reads", "gateway, telemetry default", 4400, 6, 20),
    _row("(d) checkout quotes", "every partner 50 ms", 300, 62, 90),
    _row(
        "(d) checkout quotes", "carrier-swift hanging", 40, 801, 840, note="0 complete, 40 partial"
    ),
    _row("(f) reads beside reports", "idle", 500, 2, 5),
    _row("(f) reads beside reports", "report workers busy", 300, 4, 12),
]


def test_targets_are_judged_from_the_rows() -> None:
    judged = {t.name: t.met for t in targets(ROWS, held=1000, memory_mib=1200)}

    assert judged == {
        "(b) / (a)": True,
        "(d) median, partners at 50 ms": True,
        "(d) p99, one carrier hanging": True,
        "(f) busy p99 / idle p99": False,
        "(g) highest rate held": True,
        "(h) stack resident after (g)": True,
    }
    assert targets(ROWS, held=700, memory_mib=None)[-1].met is False  # (g) wants 1,000/s


def test_each_path_costs_a_multiple_of_the_hello_world() -> None:
    order = "gateway, one line, new key each"
    rows = [
        _row("(a) hello world", "uvicorn, 2 workers", 8000, 3, 9, cpu_us=100.0),
        _row("(b) product reads", "gateway, telemetry default", 4400, 6, 20, cpu_us=150.0),
        _row("(c) product lists", "gateway, 20 per page, a category", 900, 9, 30, cpu_us=500.0),
        _row("(e) order creation", order, 100, 50, 90, cpu_us=2600.0),
        _row("(e) order creation", f"{order}: catalog's reservation", 100, 50, 90, cpu_us=900.0),
    ]

    judged = {t.name: (t.met, t.measured) for t in targets(rows, held=None, memory_mib=None)}

    assert judged["read: CPU per request / hello world's"] == (True, "1.5 (150 / 100 µs)")
    assert judged["list page: CPU per request / hello world's"][0] is False
    assert judged["order (orders): CPU per request / hello world's"][0] is False
    assert judged["reservation (catalog): CPU per request / hello world's"][0] is True
    assert "quote (checkout): CPU per request / hello world's" not in judged  # no row, no verdict


def test_a_complete_answer_with_a_hanging_carrier_misses_the_target() -> None:
    rows = [
        *ROWS[:3],
        _row(
            "(d) checkout quotes",
            "carrier-swift hanging",
            40,
            801,
            840,
            note="2 complete, 38 partial",
        ),
    ]

    judged = {t.name: t.met for t in targets(rows, held=None, memory_mib=None)}

    assert judged["(d) p99, one carrier hanging"] is False
    assert judged["(g) highest rate held"] is False


def test_markdown_has_every_row_and_the_memory_per_program() -> None:
    run = Run(quick=True, command="make bench QUICK=1", rows=ROWS)
    run.memory["idle"] = [
        ProcessMemory("catalog", 1, "uvicorn", 100 * 1024, 60 * 1024),
        ProcessMemory("catalog", 2, "uvicorn", 100 * 1024, 60 * 1024),
    ]

    text = results.markdown(run)

    assert text.count("\n| (") == len(ROWS)
    assert "| catalog | 2 | 200 | 120 |" in text
    assert "make bench QUICK=1" in text


def test_publishing_replaces_only_the_marked_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{results.START}\nold\n{results.END}\nafter\n", encoding="utf-8")
    monkeypatch.setattr(results, "README", readme)
    monkeypatch.setattr(results, "RESULTS", tmp_path / "results")

    results.write(Run(quick=True, command="make bench QUICK=1", rows=ROWS), publish=True)

    text = readme.read_text(encoding="utf-8")
    assert text.startswith("intro\n")
    assert text.endswith("after\n")
    assert "old" not in text
    assert "(b) product reads" in text
    assert (tmp_path / "results" / "latest.json").exists()


def test_overload_is_judged_on_the_admitted_requests_and_the_recovery() -> None:
    rows = [
        *ROWS,
        _row("(g) mixed load", "overload: 800 requests/s offered", 380, 20, 240, note=""),
        _row("(g) mixed load", "after the overload: 400 requests/s offered", 400, 5, 60),
    ]

    judged = {t.name: t.met for t in targets(rows, held=400, memory_mib=None)}
    assert judged["(g) overload: admitted p99, goodput"] is True  # 95% of 400/s, p99 240 ms
    assert judged["(g) after the overload"] is True
    assert judged["(g) overload: nothing lost"] is True
    lost = {t.name: t.met for t in targets(rows, held=400, memory_mib=None, reports_missing=1)}
    assert lost["(g) overload: nothing lost"] is False

    slow = [*rows[:-2], _row("(g) mixed load", "overload: 800 requests/s offered", 300, 20, 90)]
    judged = {t.name: t.met for t in targets(slow, held=400, memory_mib=None)}
    assert "(g) after the overload" not in judged  # no recovery step, no verdict on it
    assert "(g) overload: admitted p99, goodput" not in judged


def test_the_goodput_picture_has_a_point_per_step() -> None:
    points = [Point(100, 100, "100"), Point(200, 199, "200"), Point(400, 380, "400 (overload)")]

    drawing = svg(points, "goodput")

    assert drawing.startswith("<svg")
    assert drawing.rstrip().endswith("</svg>")
    assert drawing.count("<circle") == 3
    assert "400 (overload)" in drawing
