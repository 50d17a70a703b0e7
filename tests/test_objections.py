"""Issue 22: an objection gets the manager's decision, recorded as what it was (not as a confirmation)."""

from __future__ import annotations

import datetime
import json
import os

import openpyxl
import pytest

import cli
from helpers import run, score
from helpers import EXAMPLE_CSV, example_rows, write_csv
from kpi.ledger import answers, db as ledger, history as ledger_history
from kpi.pipeline import month
from kpi.ledger.revisions import ReviewError

from test_ledger import approve_levels, db

AFTER_DEADLINE, BEFORE_DEADLINE = "2026-10-16", "2026-10-15"



def rescore_kf1008(tmp_path, inquiries="400"):
    rows = example_rows()
    rows[8][13] = inquiries                       # KF1008 answered more inquiries: the result changes
    return score(write_csv(tmp_path / f"fixed-{inquiries}.csv", rows), out=f"out-{inquiries}")


def states(period="2026-09", today=BEFORE_DEADLINE):
    with ledger.Ledger() as book:
        return {s.agent_id: s for s in answers.status(book, period, datetime.date(2026, 10, 15),
                                                       datetime.date.fromisoformat(today))}


def test_decide_objection_records_who_when_and_why():
    score()
    with ledger.Ledger() as book:
        answers.answer(book, "2026-09", answers.Answer("KF1002", "object", "夜班咨询量漏算", "in person"), by="王主管")
        answers.decide_objection(book, "2026-09", "KF1002", "reject", "已核对夜班数据,统计无误", by="李经理")
        row = book.rows("SELECT * FROM objection_decisions")[0]
        audit = book.rows("SELECT * FROM audit WHERE action = 'objection_reject'")[0]
        answered = book.rows("SELECT who FROM audit WHERE action = 'object'")[0]
    assert (row["agent_id"], row["decision"], row["decided_by"]) == ("KF1002", "reject", "李经理")
    assert row["decided_at"][:4] == str(datetime.date.today().year)
    assert audit["who"] == "李经理" and "已核对夜班数据" in audit["detail"]
    assert answered["who"] == "王主管"
    found = states()["KF1002"]
    assert (found.state, found.decision, found.decided_by, found.reason) == (
        "objection_rejected", "reject", "李经理", "夜班咨询量漏算")


@pytest.mark.parametrize("setup, decision, reason, code", [
    ([], "reject", "x", "no_open_objection"),                                   # never answered
    ([("confirm", "")], "reject", "x", "no_open_objection"),                   # confirmed
    ([("object", "错了")], "reject", "  ", "decision_reason_required"),         # blank reason
    ([("object", "错了")], "approve", "x", "decision_invalid"),
])
def test_decide_objection_refuses_without_an_open_objection_or_a_reason(setup, decision, reason, code):
    score()
    with ledger.Ledger() as book:
        for answer, why in setup:
            answers.answer(book, "2026-09", answers.Answer("KF1002", answer, why, "in person"))
        with pytest.raises(ReviewError) as raised:
            answers.decide_objection(book, "2026-09", "KF1002", decision, reason)
    assert raised.value.code == code


def test_an_objection_is_decided_once():
    score()
    assert run("object", "KF1002", "--period", "2026-09", "--reason", "错了").exit_code == 0
    assert run("decide", "KF1002", "--period", "2026-09", "--reject", "--reason", "无误").exit_code == 0
    again = run("decide", "KF1002", "--period", "2026-09", "--uphold", "--reason", "再议")
    assert again.exit_code == 1 and "工号 KF1002 在 2026-09 没有待处理的异议。" in again.output
    both = run("decide", "KF1002", "--period", "2026-09", "--uphold", "--reject", "--reason", "x")
    assert both.exit_code == 2


def test_a_rejected_objection_closes_as_manager_review_not_as_confirmation(tmp_path):
    score()
    run("object", "KF1002", "--period", "2026-09", "--reason", "咨询量统计有误")
    decided = run("decide", "KF1002", "--period", "2026-09", "--reject", "--reason", "已核对,统计无误")
    assert decided.exit_code == 0
    assert decided.output == "已记录:2026-09 工号 KF1002 的异议,经理决定:经理复核维持。\n"
    approve_levels()
    closed = run("close", "2026-09", "--out", "final")
    assert closed.exit_code == 0, closed.output
    assert "  异议已由经理决定 1 人:KF1002 李娜" in closed.output.splitlines()
    sheet = openpyxl.load_workbook(tmp_path / "final" / "payroll-2026-09.xlsx", data_only=True).active
    rows = {r[0]: r for r in sheet.iter_rows(min_row=4, values_only=True)}
    assert rows["KF1002"][-3] == "经理复核维持"
    assert "已确认" not in {r[-3] for r in rows.values()}                     # nobody confirmed


def test_an_upheld_objection_keeps_the_agent_open_until_a_rescore_changes_the_result(tmp_path):
    score()
    run("object", "KF1008", "--period", "2026-09", "--reason", "咨询量少算了")
    assert run("decide", "KF1008", "--period", "2026-09", "--uphold", "--reason", "夜班数据漏导").exit_code == 0
    assert states()["KF1008"].state == "objection_upheld"
    refused = run("confirm", "KF1008", "--period", "2026-09")
    assert refused.exit_code == 1 and "须先重新评分改变其结果" in refused.output
    approve_levels()
    blocked = run("close", "2026-09")
    assert blocked.exit_code == 1 and "仍有未处理的异议" in blocked.output
    score(out="same")                                                    # same result: still open
    assert states()["KF1008"].state == "objection_upheld"
    rescore_kf1008(tmp_path)                                             # the result changes
    after = states()["KF1008"]
    assert after.state == "unanswered" and after.cleared_note
    assert run("confirm", "KF1008", "--period", "2026-09").exit_code == 0   # answers the new result
    assert states()["KF1008"].state == "confirmed"


def test_history_and_status_tell_the_same_story(tmp_path):
    score()
    run("object", "KF1008", "--period", "2026-09", "--reason", "咨询量少算了")
    rescore_kf1008(tmp_path)                                             # clears the objection
    status_line = [line for line in run("status", "2026-09", KPI_TODAY=BEFORE_DEADLINE).output.splitlines()
                   if "KF1008" in line][0]
    history = run("history", "KF1008").output.splitlines()
    assert "未答复" in status_line
    assert history[2].endswith("有异议")          # revision 1: the objection stood
    assert history[3].endswith("未答复")          # revision 2 (counting): cleared, as status says
    with ledger.Ledger() as book:
        lines = ledger_history.history(book, "KF1008")
    assert [line.state for line in lines] == ["objected", "unanswered"]
    assert lines[-1].state == states()["KF1008"].state


def test_status_rows_carry_the_decision_states_and_overdue():
    score()
    run("confirm", "KF1001", "--period", "2026-09")
    run("object", "KF1002", "--period", "2026-09", "--reason", "a")
    run("object", "KF1003", "--period", "2026-09", "--reason", "b")
    run("object", "KF1004", "--period", "2026-09", "--reason", "c")
    run("decide", "KF1002", "--period", "2026-09", "--reject", "--reason", "维持")
    run("decide", "KF1003", "--period", "2026-09", "--uphold", "--reason", "成立")
    found = states(today=AFTER_DEADLINE)
    assert [found[a].state for a in ("KF1001", "KF1002", "KF1003", "KF1004", "KF1005")] == [
        "confirmed", "objection_rejected", "objection_upheld", "objected", "overdue"]
    assert found["KF1005"].overdue and not found["KF1004"].overdue
    title = run("status", "2026-09", KPI_TODAY=AFTER_DEADLINE).output.splitlines()[0]
    assert title.endswith("已确认 1,有异议 1,未答复 21,经理复核维持 1,异议成立待重新评分 1")


def test_close_lists_unanswered_changed_and_decided_before_closing(tmp_path):
    score()
    run("confirm", "KF1001", "--period", "2026-09")
    run("confirm", "KF1008", "--period", "2026-09")
    run("object", "KF1002", "--period", "2026-09", "--reason", "a")
    run("decide", "KF1002", "--period", "2026-09", "--reject", "--reason", "维持")
    rescore_kf1008(tmp_path)
    approve_levels()
    result = run("close", "2026-09", "--out", "final", KPI_TODAY=BEFORE_DEADLINE)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "2026-09 结账前清单(第 2 版):"
    unanswered = next(line for line in lines if line.startswith("  未答复 "))
    assert unanswered.startswith("  未答复 23 人:") and "KF1008 黄磊" in unanswered and "KF1001" not in unanswered
    assert "  答复后结果有变更、原答复已清除 1 人:KF1008 黄磊" in lines
    assert "  异议已由经理决定 1 人:KF1002 李娜" in lines
    sheet = openpyxl.load_workbook(tmp_path / "final" / "payroll-2026-09.xlsx", data_only=True).active
    rows = {r[0]: r for r in sheet.iter_rows(min_row=4, values_only=True)}
    assert (rows["KF1001"][-3], rows["KF1003"][-3]) == ("已确认", "未答复")    # before the deadline


def test_unanswered_past_the_deadline_closes_as_overdue_not_confirmed(tmp_path):
    score()
    approve_levels()
    result = run("close", "2026-09", "--out", "final", KPI_TODAY=AFTER_DEADLINE)
    assert result.exit_code == 0, result.output
    assert any(line.startswith("  过了确认截止日仍未答复(工资表记为“逾期未答复”)25 人:")
               for line in result.output.splitlines())
    sheet = openpyxl.load_workbook(tmp_path / "final" / "payroll-2026-09.xlsx", data_only=True).active
    assert {r[-3] for r in sheet.iter_rows(min_row=4, values_only=True) if str(r[0]).startswith("KF")} == {"逾期未答复"}


def test_the_policy_can_refuse_closing_with_overdue_agents(tmp_path):
    configured = tmp_path / "config"
    import shutil
    shutil.copytree(os.path.join(os.path.dirname(cli.__file__), "config"), configured)
    bands = configured / "pay_bands.toml"
    text = bands.read_text(encoding="utf-8")
    text = text.replace('unanswered_past_deadline = "listed"', 'unanswered_past_deadline = "refused"')
    text = text.replace('apply_without_approval = ["0", "+1|0"]',
                        'apply_without_approval = ["0", "+1|0", "+2", "-1", "dismiss"]')
    bands.write_text(text, encoding="utf-8")
    score()
    refused = run("close", "2026-09", "--config", configured, KPI_TODAY=AFTER_DEADLINE)
    assert refused.exit_code == 1 and "过了确认截止日仍未答复,按配置不能结账" in refused.output
    assert run("close", "2026-09", "--config", configured, KPI_TODAY=BEFORE_DEADLINE).exit_code == 0
    moves = {r["agent_id"]: r["level_to"] for r in db().execute("SELECT * FROM next_levels")}
    assert moves["KF1001"] == "P3"                            # +2 applied without approval by this policy


def test_the_decisions_are_in_the_ledgers_hash_chain():
    """Issue 20's chain covers issue 22's tables: a decision edited behind kpi's back is caught."""
    import sqlite3
    from kpi.core import chain
    assert chain.registered("objection_decisions") is not None
    assert "cleared_revision" in chain.registered("answers").columns
    assert {"recommendation", "reason"} <= set(chain.registered("decisions").columns)
    score()
    run("object", "KF1002", "--period", "2026-09", "--reason", "咨询量统计有误")
    assert run("decide", "KF1002", "--period", "2026-09", "--reject", "--reason", "无误").exit_code == 0
    assert run("level", "KF1001", "--period", "2026-09", "+1").exit_code == 0
    assert run("verify").exit_code == 0
    with sqlite3.connect(os.environ["KPI_DB"]) as raw, pytest.raises(sqlite3.OperationalError, match="kpi_link"):
        raw.execute("UPDATE objection_decisions SET decision = 'uphold'")
