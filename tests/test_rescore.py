"""Re-scoring a month: agents whose inputs, team and settings are unchanged are carried over
from the last revision (not scored, nothing rendered), and everything written equals a fresh run."""

from __future__ import annotations

import json
import os
import sqlite3

import openpyxl
import pytest

from helpers import EXAMPLE_CSV, example_rows, ruleset, write_csv
from kpi.ledger import integrity, db as ledger
from kpi.pipeline import month
from kpi.core import scoring

CHANGED = "KF1008"


@pytest.fixture
def scored_ids(monkeypatch):
    """The ids of the agents scoring sees, run by run (one process: ``jobs=1``)."""
    seen: list[list[str]] = []
    real = scoring.score_agents

    def recording(ruleset_, agents, contexts):
        seen[-1].extend(agent.agent_id for agent in agents)
        return real(ruleset_, agents, contexts)

    monkeypatch.setattr(scoring, "score_agents", recording)

    def score(path=EXAMPLE_CSV, out="out", lang="zh", **options):
        seen.append([])
        with ledger.Ledger(os.environ["KPI_DB"]) as book:
            report = month.score(path, ruleset(), out, lang, book, jobs=1, **options)
        return report, sorted(seen[-1])

    return score


def changed_input(tmp_path, header: str, value: str, agent_id: str = CHANGED):
    """The example month with one cell of ``agent_id`` (column ``header``) set to ``value``."""
    rows = example_rows()
    column = rows[0].index(header)
    row = next(r for r in rows if r[0] == agent_id)
    assert row[column] != value
    row[column] = value
    return write_csv(tmp_path / "changed.csv", rows)


def team_of(agent_id: str) -> list[str]:
    rows = example_rows()
    team = next(r[2] for r in rows if r[0] == agent_id)
    return sorted(r[0] for r in rows[1:] if r[2] == team)


def test_only_the_changed_agent_is_scored_again(tmp_path, scored_ids):
    first, scored = scored_ids()
    assert len(scored) == 25 and first.kept == 0
    report, scored = scored_ids(changed_input(tmp_path, "咨询应答量", "400"))
    assert scored == [CHANGED]
    assert (report.revision, report.kept) == (2, 24)


def test_carried_agents_share_their_explanations_with_the_revision_before(tmp_path, scored_ids):
    from kpi.ledger import revisions
    scored_ids()
    scored_ids(changed_input(tmp_path, "咨询应答量", "400"))
    with ledger.Ledger(os.environ["KPI_DB"]) as book:
        first, second = (revisions.results_of(book, revision) for revision in (1, 2))
        # issue 21: the ledger keeps item records (not texts), once per distinct set
        assert book.rows("SELECT COUNT(*) AS n FROM records")[0]["n"] == 26   # 25, and the changed agent's new ones
        assert book.rows("SELECT COUNT(*) AS n FROM rulesets")[0]["n"] == 1
    assert second["KF1001"]["result"] == first["KF1001"]["result"]
    assert second["KF1001"]["result"]["explain"]["en"]["sales_completion"].startswith("completion = Sales 145,029.62")
    assert second[CHANGED]["result"]["explain"] != first[CHANGED]["result"]["explain"]


def test_a_change_to_a_team_total_scores_the_whole_team_again(tmp_path, scored_ids):
    """Personal share compares each agent's orders with the team's: a teammate's orders move it."""
    scored_ids()
    _, scored = scored_ids(changed_input(tmp_path, "个人订单量", "999"))
    assert scored == team_of(CHANGED) and len(scored) < 25


def test_a_scorecard_edited_since_is_written_again(tmp_path, scored_ids):
    scored_ids()
    card = next((tmp_path / "out" / "scorecards").rglob(f"{CHANGED}-*.xlsx"))
    original = card.read_bytes()
    card.write_bytes(original + b"edited")
    report, scored = scored_ids()
    assert scored == [CHANGED] and report.kept == 24
    assert openpyxl.load_workbook(card).defined_names["kpi_revision"].value == "2"


def test_another_language_or_scorecards_now_wanted_carry_nothing(tmp_path, scored_ids):
    scored_ids(scorecards=False)
    report, scored = scored_ids()                            # scorecards now wanted: written, none kept
    assert (len(scored), report.kept) == (25, 0)
    assert len(list((tmp_path / "out" / "scorecards").rglob("*.xlsx"))) == 25
    _, scored = scored_ids(lang="en")
    assert len(scored) == 25
    report, scored = scored_ids(lang="en")
    assert (scored, report.kept) == ([], 25)


def test_rows_stored_before_input_keys_existed_are_scored_and_keep_their_scorecards(tmp_path, scored_ids):
    """A revision written by an older kpi has no input keys: its agents are scored, and the
    scorecards whose content did not change are still kept (their content key)."""
    scored_ids()
    with sqlite3.connect(os.environ["KPI_DB"]) as db:
        integrity.register(db)                             # an edit as kpi makes them: chained
        db.execute("UPDATE results SET input_key = '', payroll_row = ''")
    report, scored = scored_ids()
    assert (len(scored), report.kept) == (25, 25)
    report, scored = scored_ids()                            # the keys are stored again
    assert (scored, report.kept) == ([], 25)


def test_a_carried_over_month_writes_what_a_fresh_run_writes(tmp_path, scored_ids, monkeypatch):
    scored_ids()
    changed = changed_input(tmp_path, "个人订单量", "999")
    scored_ids(changed)
    monkeypatch.setenv("KPI_DB", str(tmp_path / "other.db"))
    scored_ids(changed, out="alone")
    summaries = ((tmp_path / folder / "team-summary-2026-09.xlsx").read_bytes() for folder in ("out", "alone"))
    assert next(summaries) == next(summaries)
    for name in ("payroll-2026-09.csv", "results.json"):
        carried, alone = ((tmp_path / folder / name).read_text(encoding="utf-8") for folder in ("out", "alone"))
        if name == "results.json":
            carried, alone = json.loads(carried), json.loads(alone)
            assert carried.pop("revision") == 2 and alone.pop("revision") == 1
        assert carried == alone, name
    # the input and card keys are left out: each ledger seals its cards with its own secret, so its
    # cards' bytes, and their keys (kpi.io.reuse.seal_id), differ from another ledger's (issue 21)
    columns = ("agent_id, inputs, result, fingerprint, total, band, pay, level_change, payroll_row, "
               "records_sha256, ruleset_sha256")  # issue 21: records in place of texts
    with sqlite3.connect(tmp_path / "kpi.db") as rescored, sqlite3.connect(tmp_path / "other.db") as fresh:
        carried = rescored.execute(f"SELECT {columns} FROM results WHERE revision_id = 2 ORDER BY agent_id").fetchall()
        assert carried == fresh.execute(f"SELECT {columns} FROM results ORDER BY agent_id").fetchall()
        assert len(carried) == 25


def test_lines_taken_over_are_copied_byte_for_byte_in_runs(tmp_path):
    from kpi.io.writers import results_json
    first = tmp_path / "first.json"
    lines = [json.dumps({"agent_id": f"A{i}", "note": "说明" * i}, ensure_ascii=False, separators=(",", ":")).encode()
             for i in range(40)]
    results_json.write(first, {"period": "2026-09"}, lines)
    earlier = results_json.index(first)
    assert sorted(earlier.spans) == sorted(f"A{i}" for i in range(40))
    mixed = [results_json.Taken(f"A{i}") if i % 7 else f'{{"agent_id":"A{i}","new":true}}'.encode()
             for i in range(40)]
    second = tmp_path / "second.json"
    results_json.write(second, {"period": "2026-09"}, mixed, earlier)
    agents = json.loads(second.read_text(encoding="utf-8"))["agents"]
    assert agents == [{"agent_id": f"A{i}", "new": True} if i % 7 == 0 else json.loads(lines[i]) for i in range(40)]
    spans = sorted((earlier.spans[f"A{i}"], f"A{i}") for i in range(40))
    assert len(list(results_json._runs(spans, gap=2))) == 1           # lines are 2 bytes apart (",\n")
    assert len(list(results_json._runs(spans, gap=1))) == 40
    runs = list(results_json._runs(spans, gap=2, most=400))
    assert [item for run in runs for item in run] == spans and 1 < len(runs) < 40
    assert all(sum(run[-1][0]) - run[0][0][0] <= 400 or len(run) == 1 for run in runs)


@pytest.fixture
def summary_rows(monkeypatch):
    """The agent ids whose team-summary rows are written, run by run."""
    from kpi.io.writers import team_summary
    written: list[str] = []
    real = team_summary._agent_row

    def recording(sheet, index, row, layout):
        written.append(row.agent_id)
        real(sheet, index, row, layout)

    monkeypatch.setattr(team_summary, "_agent_row", recording)
    return written


def test_the_team_summary_takes_unchanged_teams_sheets_from_the_last_revision(tmp_path, scored_ids, summary_rows):
    scored_ids()
    assert len(summary_rows) == 25
    summary_rows.clear()
    scored_ids(changed_input(tmp_path, "个人订单量", "999"))
    assert sorted(summary_rows) == team_of(CHANGED)


def test_a_team_summary_edited_since_is_written_whole(tmp_path, scored_ids, summary_rows):
    scored_ids()
    path = tmp_path / "out" / "team-summary-2026-09.xlsx"
    fresh = path.read_bytes()
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))   # opened and saved again
    summary_rows.clear()
    scored_ids()
    assert len(summary_rows) == 25 and path.read_bytes() == fresh


def test_a_ledger_of_schema_2_is_migrated_and_then_carries_agents_over(tmp_path, scored_ids):
    with sqlite3.connect(os.environ["KPI_DB"]) as db:
        for statement in ledger.MIGRATIONS[0] + ledger.MIGRATIONS[1]:
            db.execute(statement)
        db.execute("PRAGMA user_version = 2")
    scored_ids()
    with ledger.Ledger(os.environ["KPI_DB"]) as book:
        assert book.schema_version == len(ledger.MIGRATIONS)
        keys = book.rows("SELECT input_key, payroll_row FROM results")
    assert len(keys) == 25 and all(len(row["input_key"]) == 64 and row["payroll_row"] for row in keys)
    report, scored = scored_ids()
    assert (scored, report.kept) == ([], 25)


PAYROLL_FILES = ("payroll-2026-09.xlsx", "payroll-2026-09.csv", "team-summary-2026-09.xlsx")


def _inodes(folder):
    return {name: (folder / name).stat().st_ino for name in PAYROLL_FILES}


def test_files_whose_rows_are_unchanged_are_taken_whole_and_the_others_written(tmp_path, scored_ids, summary_rows):
    scored_ids()
    first = _inodes(tmp_path / "out")
    summary_rows.clear()
    scored_ids()                                                         # same month again: same rows
    assert _inodes(tmp_path / "out") == first and summary_rows == []
    scored_ids(changed_input(tmp_path, "实际销售额", "1000"))              # a pay changes
    again = _inodes(tmp_path / "out")
    assert all(again[name] != first[name] for name in PAYROLL_FILES)


def test_a_payroll_file_edited_since_is_written_again(tmp_path, scored_ids):
    scored_ids()
    before = _inodes(tmp_path / "out")
    path = tmp_path / "out" / "payroll-2026-09.xlsx"
    fresh = path.read_bytes()
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))   # opened and saved again
    scored_ids()
    after = _inodes(tmp_path / "out")
    assert after[path.name] != before[path.name] and path.read_bytes() == fresh
    assert after["payroll-2026-09.csv"] == before["payroll-2026-09.csv"]            # the untouched one is taken
