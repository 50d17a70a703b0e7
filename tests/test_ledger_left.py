"""A failed command leaves no ledger file behind where there was none (and keeps one that was there)."""

from __future__ import annotations

import sqlite3

from click.testing import CliRunner

import cli
from helpers import EXAMPLE_XLSX, example_rows, write_xlsx
from kpi.pipeline import month


def run(*args):
    return CliRunner().invoke(cli.main, [str(a) for a in args], env={"KPI_LANG": None})


def _bad_sheet(tmp_path):
    header, first, *rest = example_rows()
    first[5] = "abc"     # 实际销售额 of KF1001, F2
    return write_xlsx(tmp_path / "bad.xlsx", [header, first, *rest])


def test_scoring_a_bad_sheet_creates_no_ledger(tmp_path):
    db = tmp_path / "kpi.db"
    result = run("score", _bad_sheet(tmp_path), "--period", "2026-09", "--db", db)
    assert result.exit_code == 1
    assert "填报表!F2" in result.output
    assert not db.exists() and not list(tmp_path.glob("kpi.db*"))


def test_a_crash_after_the_ledger_was_created_removes_it(tmp_path, monkeypatch):
    def crashes(*args, **kwargs):
        raise RuntimeError("boom")
    monkeypatch.setattr(month, "score", crashes)
    db = tmp_path / "kpi.db"
    result = run("score", EXAMPLE_XLSX, "--period", "2026-09", "--db", db)
    assert result.exit_code == 70
    assert "RuntimeError: boom" in result.output
    assert not db.exists()


def test_a_command_failing_on_a_missing_month_creates_no_ledger(tmp_path):
    db = tmp_path / "kpi.db"
    result = run("confirm", "KF1001", "--period", "2026-09", "--db", db)
    assert result.exit_code == 1
    assert not db.exists()


def test_a_failed_run_keeps_an_existing_ledger_and_its_months(tmp_path):
    db = tmp_path / "kpi.db"
    assert run("score", EXAMPLE_XLSX, "--period", "2026-09", "--db", db, "--out", tmp_path / "o").exit_code == 0
    result = run("score", _bad_sheet(tmp_path), "--period", "2026-09", "--db", db, "--out", tmp_path / "o")
    assert result.exit_code == 1
    with sqlite3.connect(db) as book:
        assert book.execute("SELECT period, revision FROM revisions").fetchall() == [("2026-09", 1)]
