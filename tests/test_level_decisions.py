"""Issue 22: level changes are decisions: +2, −1 and dismissal apply at closing only once approved."""

from __future__ import annotations

import openpyxl
import pytest

from helpers import run, score
from helpers import EXAMPLE_CSV, copy_config, edit, example_rows, write_csv
from kpi.core import ladder
from kpi.ledger import closing, db as ledger, revisions
from kpi.ledger.revisions import ReviewError

from test_ledger import APPROVALS, db, ruleset_for



def moves():
    return {r["agent_id"]: (r["level_to"], r["flag"]) for r in db().execute("SELECT * FROM next_levels")}


def test_close_lists_the_pending_recommendations_and_refuses():
    score()
    refused = run("close", "2026-09")
    assert refused.exit_code == 1
    lines = refused.output.splitlines()
    assert any(line.startswith("  级别建议待批准 9 人:KF1001 王芳(+2)、KF1002 李娜(+2)、KF1009 周婷(-1)、KF1010 吴昊(dismiss)")
               for line in lines)
    assert "2026-09 仍有级别建议等待批准,不能结账:KF1001 王芳 (+2);" in refused.output
    assert db().execute("SELECT status FROM months").fetchone()[0] == "open"


def test_approved_decisions_apply_and_may_stop_short_of_the_recommendation():
    score()
    for agent, change in APPROVALS.items():
        assert run("level", agent, "--period", "2026-09", change).exit_code == 0
    assert run("level", "KF1001", "--period", "2026-09", "+1").exit_code == 0     # +2 approved as +1
    assert run("level", "KF1009", "--period", "2026-09", "0").exit_code == 0      # no demotion after all
    assert run("close", "2026-09").exit_code == 0
    found = moves()
    assert found["KF1001"] == ("P2", "") and found["KF1009"] == ("P3", "")
    assert found["KF1015"] == ("P6", "") and found["KF1023"] == ("P1", "dismiss")


@pytest.mark.parametrize("agent, change", [("KF1001", "-1"), ("KF1009", "+1"), ("KF1003", "+2"), ("KF1023", "+1")])
def test_a_decision_goes_no_further_than_the_recommendation(agent, change):
    score()
    result = run("level", agent, "--period", "2026-09", change)
    assert result.exit_code == 1 and "可批准的决定为" in result.output


def test_forcing_a_close_leaves_unapproved_recommendations_unapplied(tmp_path):
    score()
    forced = run("close", "2026-09", "--force", "--reason", "人事截止日", "--out", "final")
    assert forced.exit_code == 0, forced.output
    found = moves()
    assert found["KF1001"] == ("P1", "unapproved") and found["KF1023"] == ("P1", "unapproved")
    assert found["KF1005"] == ("P3", "undecided")                         # +1|0 undecided: no change
    sheet = openpyxl.load_workbook(tmp_path / "final" / "payroll-2026-09.xlsx", data_only=True).active
    rows = {r[0]: r for r in sheet.iter_rows(min_row=4, values_only=True)}
    assert rows["KF1001"][-2:] == ("P1", "级别建议未获批准,级别未变")
    audit = db().execute("SELECT detail FROM audit WHERE action = 'close'").fetchone()[0]
    assert '"pending_levels": ["KF1001"' in audit


def test_a_policy_may_let_recommendations_apply_without_approval(tmp_path):
    folder = copy_config(tmp_path)
    edit(folder / "pay_bands.toml", 'apply_without_approval = ["0", "+1|0"]',
         'apply_without_approval = ["0", "+1|0", "+2", "-1"]')
    assert run("score", EXAMPLE_CSV, "--period", "2026-09", "--out", "out", "--config", folder).exit_code == 0
    refused = run("close", "2026-09", "--config", folder)
    assert refused.exit_code == 1
    assert "  级别建议待批准 2 人:KF1010 吴昊(dismiss)、KF1023 谢娟(dismiss)" in refused.output.splitlines()


def test_a_decision_for_an_older_recommendation_waits_again(tmp_path):
    score()
    assert run("level", "KF1001", "--period", "2026-09", "+2").exit_code == 0
    with ledger.Ledger() as book:
        decided = closing.level_decisions(book, "2026-09")["KF1001"]
    assert closing._decision_for(decided, "+2") == "+2"
    assert closing._decision_for(decided, "-1") is None          # a re-score changed the recommendation
    assert closing._decision_for(None, "+2") is None
    rows = example_rows()
    rows[1][5] = "60000"                                         # KF1001's sales drop: no longer +2
    score(write_csv(tmp_path / "lower.csv", rows), out="out2")
    with ledger.Ledger() as book:
        stored = revisions.results_of(book, revisions.latest_revision(book, "2026-09")["id"], "KF1001")["KF1001"]
    assert stored["level_change"] != "+2"
    assert closing._decision_for(decided, stored["level_change"]) is None


def test_decide_level_records_who_and_refuses_nonsense():
    score()
    with ledger.Ledger() as book:
        closing.decide_level(book, "2026-09", "KF1001", "+2", by="赵经理")
        row = book.rows("SELECT * FROM decisions WHERE agent_id = 'KF1001'")[0]
        assert (row["change"], row["decided_by"], row["recommendation"]) == ("+2", "赵经理", "+2")
        assert book.rows("SELECT who FROM audit WHERE action = 'level'")[0]["who"] == "赵经理"
        for change, code in (("+3", "level_change_invalid"), ("-1", "level_not_allowed")):
            with pytest.raises(ReviewError) as raised:
                closing.decide_level(book, "2026-09", "KF1001", change)
            assert raised.value.code == code


@pytest.mark.parametrize("recommendation, decision, automatic, expected", [
    ("+2", None, frozenset({"0", "+1|0"}), ("P3", 0, "unapproved")),
    ("+2", "+1", frozenset({"0", "+1|0"}), ("P4", 1, "")),
    ("-1", "-1", frozenset({"0", "+1|0"}), ("P2", -1, "probation")),
    ("dismiss", "dismiss", frozenset({"0", "+1|0"}), ("P3", 0, "dismiss")),
    ("dismiss", "-1", frozenset({"0", "+1|0"}), ("P2", -1, "probation")),
    ("+2", None, ladder.AUTOMATIC, ("P5", 2, "")),
])
def test_the_ladder_applies_decisions_and_the_policy(recommendation, decision, automatic, expected):
    levels = ruleset_for("2026-09").pay.levels
    move = ladder.next_level(levels, "P3", recommendation, decision, automatic)
    assert (move.level_to, move.change, move.flag) == expected
    assert ladder.pending(recommendation, decision, automatic) == (decision is None and recommendation not in automatic)
