"""The fill-in workbook: protected, validated, documented, and read back after a supervisor's edits."""

from __future__ import annotations

import openpyxl
import pytest

from helpers import run
from helpers import example_rows, write_csv, write_xlsx

FIELD_COUNT = 24   # issue 22: the 评语 column



@pytest.fixture
def roster(tmp_path):
    rows = example_rows()
    return write_csv(tmp_path / "roster.csv", [row[:4] for row in rows])


@pytest.fixture
def template(tmp_path, roster):
    path = tmp_path / "填报表-2026-09.xlsx"
    result = run("template", "--period", "2026-09", "--roster", roster, "-o", path)
    assert result.exit_code == 0, result.output
    assert result.output == f"已生成填报表:{path}(25 名客服)\n"
    return path


def test_layout_protection_and_validation(template):
    book = openpyxl.load_workbook(template)
    assert book.sheetnames == ["填报表", "说明"]
    sheet = book["填报表"]
    headers = [cell.value for cell in sheet[1]]
    assert headers[:4] == ["工号", "姓名", "组别", "级别"] and len(headers) == FIELD_COUNT
    assert [sheet.cell(2, c).value for c in range(1, 5)] == ["KF1001", "王芳", "售前一组", "P1"]
    assert sheet.protection.sheet and not sheet.protection.password
    assert sheet.cell(2, 1).protection.locked and not sheet.cell(2, 7).protection.locked
    assert sheet.freeze_panes == "C2"
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
    rules = {str(dv.sqref): dv for dv in sheet.data_validations.dataValidation}
    deals = rules["K2:K26"]
    assert deals.type == "whole" and deals.formula2 == "J2"
    assert deals.prompt == "整数;不小于 0;不大于访问量(询单人数);必填"
    summary = rules["W2:W26"]
    assert summary.type == "decimal" and summary.formula2 == "3"
    assert summary.prompt == "数字(可带小数);不小于 0;不大于 3;以 0.5 为单位;必填"


def test_notes_sheet_has_the_rules_and_the_timeline(template):
    notes = [row[0] for row in openpyxl.load_workbook(template)["说明"].iter_rows(values_only=True)]
    assert notes[0].startswith("2026-09 适用的考核规则")
    assert "  销售额完成率(权重 30 分)" in notes
    assert any("2026-10-10 周六" in line and "客服主管提交考核表" in line for line in notes if line)


def fill(template, tmp_path):
    """Fill the template as a supervisor would, in Excel (openpyxl stands in)."""
    book = openpyxl.load_workbook(template)
    sheet = book["填报表"]
    source = {row[0]: row for row in example_rows()[1:]}
    by_header = {h: i for i, h in enumerate(example_rows()[0])}
    for r in range(2, sheet.max_row + 1):
        data = source[sheet.cell(r, 1).value]
        for c in range(5, FIELD_COUNT + 1):
            header = sheet.cell(1, c).value
            if header in by_header and data[by_header[header]] != "":
                sheet.cell(r, c).value = float(data[by_header[header]])
    path = tmp_path / "filled.xlsx"
    book.save(path)
    return path


def test_a_filled_template_checks_and_scores(template, tmp_path):
    filled = fill(template, tmp_path)
    result = run("check", filled, "--period", "2026-09")
    assert result.exit_code == 0, result.output
    assert result.output.endswith("检查通过:25 名客服,2 个组,可以评分(2026-09)\n")
    result = run("score", filled, "--period", "2026-09", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "  50分以下              2 人" in result.output.splitlines()


def test_read_back_after_reordered_columns_blank_rows_total_row_and_text_numbers(template, tmp_path):
    rows = [list(row) for row in openpyxl.load_workbook(fill(template, tmp_path))["填报表"].iter_rows(values_only=True)]
    order = [1, 0, 3, 2] + list(reversed(range(4, FIELD_COUNT)))
    edited = [[row[i] for i in order] for row in rows]
    edited[3] = [str(v) if isinstance(v, float) else v for v in edited[3]]   # numbers typed as text
    edited.insert(5, [None] * FIELD_COUNT)                                   # a blank row
    edited.append(["合计", None] + [None] * (FIELD_COUNT - 2))               # a total row
    path = write_xlsx(tmp_path / "edited.xlsx", edited)
    result = run("check", path, "--period", "2026-09")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "检查通过:25 名客服,2 个组,可以评分(2026-09)"


def test_a_broken_roster_is_reported(tmp_path):
    rows = [row[:4] for row in example_rows()]
    rows[2][3] = "P8"
    rows[3][0] = ""
    result = run("template", "--period", "2026-09", "--roster", write_csv(tmp_path / "r.csv", rows),
                 "-o", tmp_path / "t.xlsx")
    assert result.exit_code == 1
    assert "r.csv!D3" in result.output and "r.csv!A4" in result.output
    assert not (tmp_path / "t.xlsx").exists()


def test_english_template(tmp_path, roster):
    path = tmp_path / "t.xlsx"
    assert run("template", "--period", "2026-09", "--roster", roster, "-o", path, "--lang", "en").exit_code == 0
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Input", "Notes"]
    assert [c.value for c in book["Input"][1]][:2] == ["Agent ID", "Name"]


def test_a_template_without_a_ledger_creates_none(tmp_path, roster):
    assert run("template", "--period", "2026-09", "--roster", roster, "-o", tmp_path / "t.xlsx").exit_code == 0
    assert not (tmp_path / "kpi.db").exists()
