"""The mixed load's report check: which database it reads, and when a step's reports hold."""

from __future__ import annotations

from bench.report_jobs import ReportOutcome, reports_dsn


def test_the_reports_database_of_the_bench_stack() -> None:
    env = {"POSTGRES_URL": "postgresql+asyncpg://postgres@10.0.0.5:5433", "DATABASE_PREFIX": "b_"}

    assert reports_dsn(env) == "postgresql://postgres@10.0.0.5:5433/b_reports"
    assert reports_dsn({}) == "postgresql://postgres@127.0.0.1:5432/reports"


def test_a_step_holds_only_when_every_accepted_report_was_produced_in_time() -> None:
    assert ReportOutcome(accepted=3, in_time=3, pending=0).held
    assert ReportOutcome(accepted=0, in_time=0, pending=0).held
    assert not ReportOutcome(accepted=3, in_time=2, pending=1).held  # still running at the end
    assert not ReportOutcome(accepted=3, in_time=2, pending=0).held  # one failed
