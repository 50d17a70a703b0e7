"""The ledger: revisions, confirmations and objections, closing, the level ladder, history."""

from __future__ import annotations

import json
import os
import sqlite3
import stat

import openpyxl
import pytest

from helpers import run, score
from helpers import EXAMPLE_CSV, EXAMPLE_XLSX, example_rows, write_csv
from kpi.ledger import integrity, db as ledger

AFTER_DEADLINE, BEFORE_DEADLINE = "2026-10-16", "2026-10-15"



APPROVALS = {"KF1001": "+2", "KF1002": "+2", "KF1009": "-1", "KF1010": "dismiss", "KF1011": "+2", "KF1014": "+2",
             "KF1015": "+2", "KF1022": "-1", "KF1023": "dismiss"}


def approve_levels(period="2026-09"):
    """Approve the example month's level recommendations as recommended (issue 22: +2, -1 and
    dismissal apply at closing only once approved)."""
    for agent, change in APPROVALS.items():
        assert run("level", agent, "--period", period, change).exit_code == 0


def db():
    connection = sqlite3.connect(os.environ["KPI_DB"])
    integrity.register(connection)                         # edits made here are kpi's own: chained
    connection.row_factory = sqlite3.Row
    return connection


def test_ledger_is_private_and_migrated_once(tmp_path):
    score()
    path = tmp_path / "kpi.db"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with ledger.Ledger(path) as book:
        assert book.schema_version == len(ledger.MIGRATIONS)
    with ledger.Ledger(path) as book:  # opening again runs nothing twice
        assert book.schema_version == len(ledger.MIGRATIONS)
        assert len(book.rows("SELECT * FROM revisions")) == 1


def test_score_records_input_results_rules_and_who(tmp_path):
    score()
    revision = db().execute("SELECT * FROM revisions").fetchone()
    assert (revision["period"], revision["revision"], revision["input_file"]) == ("2026-09", 1, "input-2026-09.csv")
    assert len(revision["input_sha256"]) == 64 and revision["scored_by"]
    assert json.loads(revision["rules"])["weights_effective"] == "2020-01"
    row = db().execute("SELECT * FROM results WHERE agent_id = 'KF1008'").fetchone()
    assert json.loads(row["inputs"])["values"]["inquiries"] == "270"
    assert json.loads(row["result"])["total"] == row["total"] == "75"
    doc = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert doc["revision"] == 1


def test_rescoring_adds_revisions_and_earlier_ones_stay_readable():
    score()
    rows = example_rows()
    rows[8][13] = "400"                                    # KF1008 answered more inquiries
    score(write_csv(os.path.join(os.getcwd(), "fixed.csv"), rows))
    history = run("history", "KF1008")
    assert history.exit_code == 0
    lines = history.output.splitlines()
    assert lines[2].split()[:3] == ["2026-09", "1", "75"]
    assert lines[3].split()[:3] == ["2026-09", "2*", "77"]
    first = run("show", "KF1008", "--period", "2026-09", "--revision", "1")
    assert first.exit_code == 0 and "咨询应答量 270" in first.output
    latest = run("show", "KF1008", "--period", "2026-09")
    assert latest.output.splitlines()[0].startswith("2026-09 第 2 版 · 工号 KF1008 黄磊")
    assert run("show", "KF1008", "--period", "2026-09", "--revision", "7").exit_code == 1
    for beyond in ("0", "-1", str(2 ** 63), "99999999999999999999"):   # no revision number: a usage error,
        refused = run("show", "KF1008", "--period", "2026-09", "--revision", beyond)   # never exit 70
        assert refused.exit_code == 2 and "--revision" in refused.output, refused.output


def test_growth_takes_last_months_sales_from_the_ledger(tmp_path):
    score()
    rows = example_rows()
    rows[1][6] = ""                                        # KF1001 without 上月销售额
    score(write_csv(tmp_path / "oct.csv", rows), period="2026-10", out="oct")
    agent = json.loads((tmp_path / "oct" / "results.json").read_text(encoding="utf-8"))["agents"][0]
    september_sales = example_rows()[1][5]
    assert f"上月销售额 {float(september_sales):,.2f}" in agent["explain"]["sales_growth"]
    assert "上月销售额取自台账 2026-09 第 1 版" in agent["explain"]["sales_growth"]
    assert agent["points"]["sales_growth"] == 8                    # same sales as the base month: no growth


def returned(tmp_path, agent_file: str, answer: str, reason: str = "", edit=None):
    """Fill a scorecard's confirmation block as the agent would and return it."""
    source = next((tmp_path / "out" / "scorecards").rglob(f"{agent_file}-*.xlsx"))
    book = openpyxl.load_workbook(source)
    names = book.defined_names
    for name, value in (("kpi_answer", answer), ("kpi_reason", reason), *(edit or [])):
        sheet, ref = next(iter(names[name].destinations))
        book[sheet][ref.replace("$", "")].value = value
    target = tmp_path / "returned" / source.name
    target.parent.mkdir(exist_ok=True)
    book.save(target)
    return target


def test_collect_records_answers_and_refuses_edited_scores(tmp_path):
    score()
    returned(tmp_path, "KF1001", "确认")
    returned(tmp_path, "KF1002", "异议", "咨询量统计漏了夜班")
    returned(tmp_path, "KF1003", "")
    returned(tmp_path, "KF1004", "确认", edit=[("kpi_points_conversion", 4.5)])
    result = run("collect", tmp_path / "returned", "--period", "2026-09")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "已记录 KF1001-王芳.xlsx:工号 KF1001 确认" in lines
    assert "已记录 KF1002-李娜.xlsx:工号 KF1002 异议(咨询量统计漏了夜班)" in lines
    assert "未填写确认栏,跳过:KF1003-张伟.xlsx" in lines
    refused = [line for line in lines if line.startswith("拒收 KF1004-刘洋.xlsx")]
    was = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))["agents"][3]["points"]
    assert refused and f"考核表!F10 的评分被改动(原为 {was['conversion']},现为 4.5)" in refused[0]
    assert lines[-1] == "共记录 2 份,跳过 1 份,拒收 1 份"


def test_status_per_team_and_the_deadline(tmp_path):
    score()
    assert run("confirm", "KF1001", "--period", "2026-09").exit_code == 0
    assert run("object", "KF1014", "--period", "2026-09", "--reason", "主推目标定错").exit_code == 0
    early = run("status", "2026-09", KPI_TODAY=BEFORE_DEADLINE)
    assert early.exit_code == 0
    lines = early.output.splitlines()
    assert lines[0] == "2026-09 确认情况(第 1 版,确认截止 2026-10-15):已确认 1,有异议 1,未答复 23"
    assert lines[1] == "售前一组" and "  KF1001 王芳      已确认" in lines
    assert "  KF1014 朱琳      有异议:主推目标定错" in lines
    assert "  KF1002 李娜      未答复" in lines
    late = run("status", "2026-09", KPI_TODAY=AFTER_DEADLINE).output.splitlines()
    assert "  KF1002 李娜      未答复  ⚠ 已过确认截止日" in late
    assert "  KF1001 王芳      已确认" in late


def test_an_objection_needs_a_reason_and_an_unknown_agent_is_refused():
    score()
    assert run("object", "KF1001", "--period", "2026-09", "--reason", " ").exit_code == 1
    missing = run("confirm", "KF9999", "--period", "2026-09")
    assert missing.exit_code == 1 and "工号 KF9999 不在 2026-09 的评分结果中" in missing.output


def test_rescoring_keeps_unchanged_confirmations_and_clears_changed_ones(tmp_path):
    score()
    run("confirm", "KF1001", "--period", "2026-09")
    run("object", "KF1008", "--period", "2026-09", "--reason", "咨询量少算了")
    rows = example_rows()
    rows[8][13] = "400"
    result = score(write_csv(tmp_path / "fixed.csv", rows))
    assert result.output.splitlines()[-1] == "以下客服的结果有变更,原确认/异议已清除,需重新确认:KF1008"
    lines = run("status", "2026-09", KPI_TODAY=BEFORE_DEADLINE).output.splitlines()
    assert "  KF1001 王芳      已确认" in lines
    assert "  KF1008 黄磊      未答复  (原答复已清除:结果在重新评分后变更)" in lines


def test_close_refuses_open_objections_unless_forced_with_a_reason(tmp_path):
    score()
    run("object", "KF1002", "--period", "2026-09", "--reason", "咨询量统计有误")
    refused = run("close", "2026-09")
    assert refused.exit_code == 1
    assert "2026-09 仍有未处理的异议,不能结账:KF1002: 咨询量统计有误" in refused.output
    assert run("close", "2026-09", "--force").exit_code == 2
    forced = run("close", "2026-09", "--force", "--reason", "经理已当面复核")
    assert forced.exit_code == 0, forced.output
    assert "强制结账,原因已记入台账:经理已当面复核" in forced.output
    audit = db().execute("SELECT * FROM audit WHERE action = 'close'").fetchone()
    assert "经理已当面复核" in audit["detail"] and "KF1002" in audit["detail"]


def test_close_writes_hr_payroll_with_states_and_applies_the_ladder(tmp_path):
    score()
    run("confirm", "KF1001", "--period", "2026-09")
    run("level", "KF1003", "--period", "2026-09", "+1")
    assert run("level", "KF1001", "--period", "2026-09", "-1").exit_code == 1   # no further than recommended
    approve_levels()
    result = run("close", "2026-09", "--out", "final")
    assert result.exit_code == 0, result.output
    moves = {r["agent_id"]: dict(r) for r in db().execute("SELECT * FROM next_levels")}
    assert (moves["KF1001"]["level_from"], moves["KF1001"]["level_to"]) == ("P1", "P3")      # +2
    assert (moves["KF1015"]["level_from"], moves["KF1015"]["level_to"]) == ("P4", "P6")      # +2
    assert (moves["KF1003"]["level_to"], moves["KF1005"]["level_to"]) == ("P3", "P3")        # +1 decided / not
    assert moves["KF1005"]["flag"] == "undecided"
    assert (moves["KF1009"]["level_to"], moves["KF1009"]["flag"]) == ("P2", "probation")     # -1
    assert (moves["KF1023"]["level_to"], moves["KF1023"]["flag"]) == ("P1", "dismiss")       # never applied
    sheet = openpyxl.load_workbook(tmp_path / "final" / "payroll-2026-09.xlsx", data_only=True).active
    header = [c.value for c in sheet[3]]
    assert header[-3:] == ["确认状态", "下月级别", "人事提示"]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=4, values_only=True)}
    assert rows["KF1001"][-3:-1] == ("已确认", "P3")
    assert rows["KF1023"][-3:] == ("逾期未答复", "P1", "建议辞退,请人事处理(级别未变)")   # issue 22


def test_a_closed_month_is_immutable_until_reopened(tmp_path):
    score()
    approve_levels()
    assert run("close", "2026-09").exit_code == 0
    hint = "2026-09 已结账,不能再修改;如确需修改,请先运行 kpi reopen 2026-09 --reason"
    for args in (["score", EXAMPLE_CSV, "--period", "2026-09", "--out", "again"],
                 ["confirm", "KF1001", "--period", "2026-09"],
                 ["object", "KF1001", "--period", "2026-09", "--reason", "x"],
                 ["level", "KF1003", "--period", "2026-09", "+1"],
                 ["collect", EXAMPLE_XLSX, "--period", "2026-09"]):
        result = run(*args)
        assert result.exit_code == 1 and hint in result.output, args
    assert not (tmp_path / "again").exists()
    assert run("reopen", "2026-09", "--reason", "财务发现工资基数有误").exit_code == 0
    assert db().execute("SELECT detail FROM audit WHERE action = 'reopen'").fetchone()[0] == "财务发现工资基数有误"
    assert run("score", EXAMPLE_CSV, "--period", "2026-09", "--out", "again").exit_code == 0
    assert run("show", "KF1001", "--period", "2026-09").output.startswith("2026-09 第 2 版")
    assert run("reopen", "2026-09", "--reason", "x").exit_code == 1
    assert run("close", "2026-09").exit_code == 0
    assert run("status", "2026-09").output.splitlines()[-1] == "2026-09 已结账(第 2 版)"


def test_next_months_template_prefills_levels_and_sales(tmp_path):
    score()
    approve_levels()
    run("close", "2026-09")
    roster = write_csv(tmp_path / "roster.csv", [row[:4] for row in example_rows()])
    result = run("template", "--period", "2026-10", "--roster", roster, "-o", tmp_path / "t.xlsx")
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx")["填报表"]
    header = [c.value for c in sheet[1]]
    first = {h: c.value for h, c in zip(header, sheet[2])}
    assert first["工号"] == "KF1001" and first["级别"] == "P3"                     # P1 + 2
    assert first["上月销售额"] == pytest.approx(float(example_rows()[1][5]))


def test_history_lists_months_oldest_first():
    score()
    score(EXAMPLE_CSV, period="2026-10", out="oct")
    run("confirm", "KF1001", "--period", "2026-10")
    lines = run("history", "KF1001").output.splitlines()
    assert [line.split()[0] for line in lines[2:]] == ["2026-09", "2026-10"]
    assert lines[2].endswith("未答复") and lines[3].endswith("已确认")
    months = run("history").output.splitlines()
    assert [m.split()[0] for m in months] == ["2026-09", "2026-10"]
    assert run("history", "KF0000").output == "台账中没有工号 KF0000 的记录\n"


def test_a_busy_ledger_fails_with_a_clear_message(tmp_path):
    score()
    holder = sqlite3.connect(os.environ["KPI_DB"], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = run("score", EXAMPLE_CSV, "--period", "2026-09", "--out", "busy", KPI_DB_TIMEOUT="0.2")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    assert "正被另一个 kpi 进程使用" in result.output
    assert not (tmp_path / "busy").exists()


def test_a_file_that_is_not_a_ledger(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_text("not sqlite")
    result = run("history", "--db", bad)
    assert result.exit_code == 1 and "无法使用台账" in result.output


def test_collect_refuses_an_outdated_scorecard_but_accepts_one_whose_result_did_not_change(tmp_path):
    score()
    old_changed = returned(tmp_path, "KF1008", "确认")
    old_same = returned(tmp_path, "KF1001", "确认")
    rows = example_rows()
    rows[8][13] = "400"
    score(write_csv(tmp_path / "fixed.csv", rows), out="out2")
    result = run("collect", old_changed, old_same, "--period", "2026-09")
    assert result.exit_code == 1
    assert ("拒收 KF1008-黄磊.xlsx:工号 KF1008:这是第 1 版的考核表,结果已在第 2 版变更,请使用新表。"
            in result.output.splitlines())
    assert "已记录 KF1001-王芳.xlsx:工号 KF1001 确认" in result.output.splitlines()


def test_collect_names_a_file_that_is_not_a_scorecard(tmp_path):
    score()
    result = run("collect", EXAMPLE_XLSX, "--period", "2026-09")
    assert result.exit_code == 1
    assert "input-2026-09.xlsx  不是 kpi 生成的考核表" in result.output


def test_rescoring_rewrites_only_the_changed_scorecard(tmp_path):
    score(out="out")
    cards = {p.name: p.stat() for p in (tmp_path / "out" / "scorecards").rglob("*.xlsx")}
    contents = {p.name: p.read_bytes() for p in (tmp_path / "out" / "scorecards").rglob("*.xlsx")}
    rows = example_rows()
    rows[8][13] = "400"                                    # only KF1008 changes
    result = score(write_csv(tmp_path / "fixed.csv", rows), out="out")
    assert "考核表:重写 1 份,24 份未变沿用" in result.output.splitlines()
    after = {p.name: p for p in (tmp_path / "out" / "scorecards").rglob("*.xlsx")}
    assert set(after) == set(cards)
    for name, path in after.items():
        same = path.stat().st_mtime_ns == cards[name].st_mtime_ns and path.read_bytes() == contents[name]
        assert same == (name != "KF1008-黄磊.xlsx"), name
    kept = openpyxl.load_workbook(after["KF1001-王芳.xlsx"]).defined_names["kpi_revision"].value
    assert kept == "1"


def test_no_scorecards(tmp_path):
    result = run("score", EXAMPLE_CSV, "--period", "2026-09", "--out", "lean", "--no-scorecards")
    assert result.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "lean").iterdir()) == [
        "payroll-2026-09.csv", "payroll-2026-09.xlsx", "results.json", "team-summary-2026-09.xlsx"]


def test_collect_catches_an_edited_pay_figure_even_without_recalculation(tmp_path):
    score()
    returned(tmp_path, "KF1005", "确认", edit=[("kpi_multiplier", 1.2)])
    result = run("collect", tmp_path / "returned", "--period", "2026-09")
    assert result.exit_code == 1
    assert "工号 KF1005:考核表!B26 的评分被改动(原为 0.9,现为 1.2),拒收" in result.output


def test_rescoring_takes_over_unchanged_agents_exactly_as_a_fresh_score_renders_them(tmp_path):
    """Unchanged agents' ledger rows and results.json lines are copied from the last revision;
    they must equal what scoring the new input afresh writes."""
    score(out="out")
    rows = example_rows()
    rows[8][13] = "400"                                    # only KF1008 changes
    fixed = write_csv(tmp_path / "fixed.csv", rows)
    score(fixed, out="out")
    result = run("score", fixed, "--period", "2026-09", "--out", "fresh", "--db", tmp_path / "fresh.db")
    assert result.exit_code == 0
    # card_key is left out: each ledger seals its cards with its own secret, so the card's bytes
    # and key (kpi.io.reuse.seal_id) differ from another ledger's (issue 21)
    columns = "agent_id, name, team, level, inputs, result, fingerprint, total, band, pay, level_change"
    with sqlite3.connect(tmp_path / "kpi.db") as rescored, sqlite3.connect(tmp_path / "fresh.db") as fresh:
        copied = rescored.execute(f"SELECT {columns} FROM results WHERE revision_id = 2 ORDER BY agent_id").fetchall()
        assert copied == fresh.execute(f"SELECT {columns} FROM results ORDER BY agent_id").fetchall()
        assert len(copied) == 25
    again, first = (json.loads((tmp_path / name / "results.json").read_text(encoding="utf-8")) for name in ("out", "fresh"))
    assert again.pop("revision") == 2 and first.pop("revision") == 1
    assert again == first


def test_rescoring_an_unchanged_month_renders_no_row_and_no_line_again(tmp_path, monkeypatch):
    from helpers import ruleset
    from kpi.pipeline import month
    from kpi.ledger import revisions
    from kpi.io.writers import results_json
    score(out="out")
    rendered = []
    monkeypatch.setattr(revisions, "result_row", lambda *args: rendered.append("row"))
    monkeypatch.setattr(results_json, "line", lambda *args: rendered.append("line"))
    with ledger.Ledger(os.environ["KPI_DB"]) as book:
        report = month.score(EXAMPLE_CSV, ruleset(), tmp_path / "out", "zh", book, jobs=1)
    assert (report.revision, report.kept, rendered) == (2, 25, [])
    assert len(json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))["agents"]) == 25


def ruleset_for(period):
    """The shipped rules of ``period`` (for tests that call the review library directly)."""
    from helpers import ruleset
    return ruleset(period)
