"""Issue 22: the supervisor's comments (评语) reach the agent: read, stored, printed, shown."""

from __future__ import annotations

import openpyxl

from helpers import run
from helpers import copy_config, edit, example_rows, write_csv, write_xlsx
from kpi.ledger import db as ledger, revisions



MONTH = "销售技巧进步明显,夜班响应仍偏慢,下月重点跟进。"
ITEM = "三次超时未回复,扣 0.5 分"


def commented_rows(header="评语", item_header="应答时效评语"):
    rows = example_rows()
    rows[0] += [header, item_header]
    for row in rows[1:]:
        row += ["", ""]
    rows[1][-2:] = [MONTH, ITEM]                                   # KF1001
    return rows


def test_comments_from_a_csv_are_stored_in_the_ledger(tmp_path):
    path = write_csv(tmp_path / "in.csv", commented_rows(), encoding="gbk")
    assert run("score", path, "--period", "2026-09", "--out", "out").exit_code == 0
    with ledger.Ledger() as book:
        stored = revisions.results_of(book, revisions.latest_revision(book, "2026-09")["id"])
    assert stored["KF1001"]["inputs"]["comment"] == MONTH
    assert stored["KF1001"]["inputs"]["item_comments"] == {"response_time": ITEM}
    assert (stored["KF1002"]["inputs"]["comment"], stored["KF1002"]["inputs"]["item_comments"]) == ("", {})
    assert "comment" not in stored["KF1001"]["inputs"]["values"]


def test_a_remarks_column_is_read_as_the_comment_from_xlsx(tmp_path):
    path = write_xlsx(tmp_path / "in.xlsx", commented_rows(header="备注"))
    assert run("score", path, "--period", "2026-09", "--out", "out").exit_code == 0
    with ledger.Ledger() as book:
        stored = revisions.results_of(book, revisions.latest_revision(book, "2026-09")["id"], "KF1001")
    assert stored["KF1001"]["inputs"]["comment"] == MONTH


def test_the_scorecard_prints_the_comments_beside_the_item_and_on_the_month(tmp_path):
    path = write_csv(tmp_path / "in.csv", commented_rows())
    assert run("score", path, "--period", "2026-09", "--out", "out").exit_code == 0
    card = next((tmp_path / "out" / "scorecards").rglob("KF1001-*.xlsx"))
    sheet = openpyxl.load_workbook(card).active
    cells = {(c.row, c.column): c.value for row in sheet.iter_rows() for c in row if c.value is not None}
    item_row = next(r for (r, c), v in cells.items() if c == 1 and v == "应答时效")
    assert cells[(item_row, 2)].endswith(f"评语:{ITEM}")
    comment_row = next(r for (r, c), v in cells.items() if c == 1 and v == "主管评语")
    assert cells[(comment_row, 2)] == MONTH
    other = next((tmp_path / "out" / "scorecards").rglob("KF1002-*.xlsx"))
    assert "主管评语" not in [c.value for row in openpyxl.load_workbook(other).active.iter_rows() for c in row]


def test_kpi_show_lists_items_in_table_order_with_names_and_the_comments(tmp_path):
    path = write_csv(tmp_path / "in.csv", commented_rows())
    assert run("score", path, "--period", "2026-09", "--out", "out").exit_code == 0
    lines = run("show", "KF1001", "--period", "2026-09").output.splitlines()
    names = [line.split(":")[0].strip() for line in lines[1:15]]
    assert names == ["销售额完成率", "销售增长率", "转化率", "主推单品", "退单率", "咨询量", "交易纠纷", "个人成交率",
                     "应答时效", "服务规范", "销售技巧", "产品知识考试", "岗位实操考试", "工作总结"]
    assert lines[9] == f"  应答时效:主管评分 7.5 分(满分 8 分);评语:{ITEM}"
    assert lines[15] == f"  主管评语:{MONTH}"
    english = run("show", "KF1001", "--period", "2026-09", "--lang", "en").output.splitlines()
    assert english[9].startswith("  Response time: ") and english[15] == f"  Supervisor's comment: {MONTH}"


def test_a_comment_above_the_limit_is_a_problem_naming_the_cell(tmp_path):
    rows = commented_rows()
    rows[2][-2] = "好" * 201                                           # KF1002, column X (the 24th)
    path = write_csv(tmp_path / "in.csv", rows)
    result = run("check", path, "--period", "2026-09")
    assert result.exit_code == 1
    assert any("in.csv" in line and "评语过长:201 个字,最多 200 个字" in line for line in result.output.splitlines()), \
        result.output


def test_a_changed_comment_rewrites_the_scorecard(tmp_path):
    rows = commented_rows()
    assert run("score", write_csv(tmp_path / "a.csv", rows), "--period", "2026-09", "--out", "out").exit_code == 0
    rows[1][-2] = "改过的评语。"
    assert run("score", write_csv(tmp_path / "b.csv", rows), "--period", "2026-09", "--out", "out2").exit_code == 0
    card = next((tmp_path / "out2" / "scorecards").rglob("KF1001-*.xlsx"))
    assert "改过的评语。" in [c.value for row in openpyxl.load_workbook(card).active.iter_rows() for c in row]


def test_the_template_has_the_comment_column_and_item_columns_when_configured(tmp_path):
    roster = write_csv(tmp_path / "roster.csv", [row[:4] for row in example_rows()])
    assert run("template", "--period", "2026-09", "--roster", roster, "-o", tmp_path / "t.xlsx").exit_code == 0
    header = [c.value for c in openpyxl.load_workbook(tmp_path / "t.xlsx")["填报表"][1]]
    assert header[-1] == "评语" and "应答时效评语" not in header
    folder = copy_config(tmp_path)
    edit(folder / "fields.toml", "item_comments = false", "item_comments = true")
    assert run("template", "--period", "2026-09", "--roster", roster, "-o", tmp_path / "t2.xlsx",
               "--config", folder).exit_code == 0
    sheet = openpyxl.load_workbook(tmp_path / "t2.xlsx")["填报表"]
    header = [c.value for c in sheet[1]]
    assert header[header.index("应答时效") + 1] == "应答时效评语" and header[-1] == "评语"
    rules = {str(v.sqref): v for v in sheet.data_validations.dataValidation}
    comment_col = openpyxl.utils.get_column_letter(len(header))
    assert any(ref.startswith(comment_col) and v.type == "textLength" and v.formula1 == "200"
               for ref, v in rules.items())
