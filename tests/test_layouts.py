"""Files as shops make them (issue 19): which sheet is read, tables as people lay them out,
cells that hold no value. One file per layout or failure mode, built the way its producer
builds it (xlsxwriter, openpyxl, LibreOffice, CSV), each asserting the exact values read or
the exact sheet!cell and message."""

from __future__ import annotations

import ast
import datetime
import re
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from click.testing import CliRunner

import cli
from helpers import ROOT, example_rows, ruleset
from kpi.core import i18n, inputs, sheets
from kpi.pipeline import month
from kpi.io import readers
from kpi.render import terminal
from kpi.core.errors import InputError

RULES = ruleset()
ROWS = example_rows()
HEADER, AGENTS = ROWS[0], ROWS[1:]
WIDTH = len(HEADER)


def typed(value: str):
    """A CSV text as Excel holds it: numbers as numbers."""
    try:
        number = float(value)
    except ValueError:
        return value or None
    return int(number) if number.is_integer() else number


def typed_rows(rows=None) -> list[list]:
    return [[typed(v) for v in row] for row in (rows or ROWS)]


def write_sheet(sheet, rows, first_row: int = 0, first_col: int = 0) -> None:
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None and value != "":
                sheet.write(first_row + r, first_col + c, value)


def validate(path, sheet=None, period="2026-09"):
    return month.validate(Path(path), ruleset(period), sheet=sheet)


def problems_of(path, sheet=None) -> list[tuple[str, str]]:
    with pytest.raises(InputError) as caught:
        validate(path, sheet)
    return [(p.location, p.code) for p in caught.value.problems]


def sold(parsed, index: int = 0) -> Decimal:
    return parsed.agents[index].values["sales_actual"]


def run(*args):
    return CliRunner().invoke(cli.main, [str(a) for a in args])


# ------------------------------------------------------------------ which sheet
def month_book(path: Path, names: list[str], hidden: tuple[str, ...] = (), extra: tuple[str, ...] = ()) -> Path:
    """One sheet per month (openpyxl, as a supervisor's copy-and-rename makes it): the n-th
    sheet's first agent sold n * 1000; ``extra`` sheets hold only a note."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for index, name in enumerate(names, start=1):
        sheet = book.create_sheet(name)
        rows = typed_rows()
        rows[1][5] = index * 1000
        for row in rows:
            sheet.append(row)
        if name in hidden:
            sheet.sheet_state = "hidden"
    for name in extra:
        book.create_sheet(name)["A1"] = "填写说明:每月 5 日前交人事部。"
    book.save(path)
    return path


@pytest.mark.parametrize("names, read", [
    (["7月", "8月", "9月"], "9月"),
    (["9月", "8月", "7月"], "9月"),
    (["2026-07", "2026-08", "2026-09"], "2026-09"),
    (["7月份", "8月份", "9月份"], "9月份"),
    (["2026年8月", "2026年9月", "2026年10月"], "2026年9月"),
    (["Jul", "Aug", "Sep"], "Sep"),
    (["2025年9月", "2026年8月", "2026年9月"], "2026年9月"),
    (["202608", "202609"], "202609"),
    (["八月", "九月"], "九月"),
])
def test_a_workbook_of_months_is_read_at_the_sheet_of_the_period(tmp_path, names, read):
    parsed = validate(month_book(tmp_path / "months.xlsx", names, extra=("说明",)))
    assert sold(parsed) == Decimal(1000 * (names.index(read) + 1))
    assert parsed.notices[0] == ("", "", read, "", "sheet_read", (("sheet", read),))
    assert parsed.agents[0].origin == f"{read}!A2"


def test_check_says_which_sheet_it_read(tmp_path):
    path = month_book(tmp_path / "months.xlsx", ["7月", "8月", "9月"])
    result = run("check", path, "--period", "2026-09")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "读取工作表:9月"
    english = run("check", path, "--period", "2026-08", "--lang", "en")
    assert english.output.splitlines()[0] == "Sheet read: 8月"


def test_score_says_which_sheet_it_read(tmp_path):
    path = month_book(tmp_path / "months.xlsx", ["8月", "9月"])
    result = run("score", path, "--period", "2026-09", "--out", tmp_path / "out", "--no-scorecards",
                 "--db", tmp_path / "kpi.db", "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert "读取工作表:9月" in result.output.splitlines()


@pytest.mark.parametrize("names, hidden, extra, location, code, params", [
    (["7月", "8月"], (), (), "months.xlsx", "sheet_no_period", (("period", "2026-09"), ("sheets", "7月、8月"))),
    (["8月", "9月"], ("9月",), (), "9月", "sheet_hidden", (("sheet", "9月"),)),
    (["9月", "2026-09"], (), (), "months.xlsx", "sheet_unclear", (("sheets", "9月、2026-09"),)),
    (["Sheet1", "Sheet2"], (), (), "months.xlsx", "sheet_unclear", (("sheets", "Sheet1、Sheet2"),)),
    (["旧表"], ("旧表",), ("说明",), "旧表", "sheet_hidden", (("sheet", "旧表"),)),
    (["填报表", "9月"], (), (), "months.xlsx", "sheet_unclear", (("sheets", "填报表、9月"),)),
])
def test_an_unclear_choice_of_sheet_is_refused_naming_the_sheets(tmp_path, names, hidden, extra, location, code, params):
    path = month_book(tmp_path / "months.xlsx", names, hidden, extra)
    with pytest.raises(InputError) as caught:
        validate(path)
    assert [(p.location, p.code, p.params) for p in caught.value.problems] == [(location, code, params)]
    assert not terminal.problems(caught.value.problems, RULES, "zh")[1].strip().startswith("Traceback")


def test_the_sheet_option_chooses_even_a_hidden_sheet(tmp_path):
    path = month_book(tmp_path / "months.xlsx", ["Sheet1", "Sheet2", "9月"], hidden=("9月",))
    assert sold(validate(path, sheet="Sheet2")) == Decimal(2000)
    assert sold(validate(path, sheet="9月")) == Decimal(3000)
    assert sold(validate(path, sheet=" sheet1 ")) == Decimal(1000)    # spaces and case forgiven
    result = run("check", path, "--period", "2026-09", "--sheet", "Sheet2")
    assert result.exit_code == 0 and result.output.splitlines()[0] == "读取工作表:Sheet2"


def test_a_sheet_that_is_not_there_is_refused_with_the_sheets_listed(tmp_path):
    path = month_book(tmp_path / "months.xlsx", ["8月", "9月"])
    result = run("check", path, "--period", "2026-09", "--sheet", "10月")
    assert result.exit_code == 1
    assert "months.xlsx  工作簿中没有名为“10月”的工作表;现有工作表:8月、9月。" in result.output


def test_the_fill_in_sheet_is_preferred_and_notes_or_hidden_sheets_are_passed_over(tmp_path):
    path = month_book(tmp_path / "tpl.xlsx", ["旧数据", "填报表", "8月"], hidden=("旧数据",), extra=("说明",))
    parsed = validate(path)
    assert sold(parsed) == Decimal(2000) and parsed.notices[0].location == "填报表"
    data = month_book(tmp_path / "data.xlsx", ["旧数据", "Sheet1"], hidden=("旧数据",), extra=("说明",))
    assert sold(validate(data)) == Decimal(2000)


def test_a_one_sheet_workbook_says_nothing_about_its_sheet(tmp_path):
    parsed = validate(month_book(tmp_path / "one.xlsx", ["Sheet1"]))
    assert [n for n in parsed.notices if n.code == "sheet_read"] == []


def test_a_refusal_names_the_sheet_and_cell(tmp_path):
    path = month_book(tmp_path / "months.xlsx", ["8月", "9月"])
    book = openpyxl.load_workbook(path)
    book["9月"]["I4"] = 999999
    book.save(path)
    assert problems_of(path) == [("9月!I4", "at_most_field")]
    empty = month_book(tmp_path / "empty.xlsx", ["8月"], extra=("9月",))
    assert problems_of(empty) == [("9月!1:10", "no_header")]


@pytest.mark.parametrize("name, expected", [
    ("9月", (None, 9)), ("9月份", (None, 9)), ("2026年9月", (2026, 9)), ("2026-09", (2026, 9)),
    ("2026.9", (2026, 9)), ("202609", (2026, 9)), ("Sep", (None, 9)), ("September 2026", (2026, 9)),
    ("Sep-26", (2026, 9)), ("九月", (None, 9)), ("十二月", (None, 12)), ("２０２６年９月", (2026, 9)),
    ("Sheet1", None), ("说明", None), ("汇总", None), ("售前1组", None), ("13月", None),
])
def test_month_names_of_sheets(name, expected):
    assert sheets.month_of(name) == expected


def test_the_sheet_choice_is_pure():
    tree = ast.parse((ROOT / "kpi" / "core" / "sheets.py").read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert imported <= {"__future__", "re", "unicodedata", "collections.abc", "typing", "kpi.core.errors"}


# ------------------------------------------------------------------ tables as people lay them out
def numbered_book(path: Path, build) -> Path:
    """An xlsxwriter workbook; ``build(workbook, sheet)`` lays the table out."""
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    build(workbook, workbook.add_worksheet("填报表"))
    workbook.close()
    return path


def expected_agents():
    return validate(ROOT / "examples" / "2026-09" / "input-2026-09.csv")


def same_agents(parsed) -> None:
    want = expected_agents()
    assert [(a.agent_id, a.name, a.team, a.level, dict(a.values)) for a in parsed.agents] == \
        [(a.agent_id, a.name, a.team, a.level, dict(a.values)) for a in want.agents]
    assert parsed.problems == []


def test_a_total_row_merged_over_the_identity_columns_is_skipped(tmp_path):
    def build(workbook, sheet):
        write_sheet(sheet, [["序号", *HEADER]] + [[n, *row] for n, row in enumerate(typed_rows()[1:], start=1)])
        last = len(AGENTS) + 1
        sheet.merge_range(last, 0, last, 4, "合计")            # 序号..级别
        for col in range(5, WIDTH + 1):
            sheet.write_formula(last, col, f"=SUM({chr(65 + col)}2:{chr(65 + col)}{last})", None, 1234)
        sheet.merge_range(last + 1, 0, last + 1, 4, "平均值")
        sheet.write(last + 1, 5, 99.5)
    same_agents(validate(numbered_book(tmp_path / "merged-total.xlsx", build)))


@pytest.mark.parametrize("label", ["汇总", "合计", "Total", None])
def test_an_excel_table_total_row_is_skipped(tmp_path, label):
    def build(workbook, sheet):
        columns = [{"header": h, "total_function": "sum"} if i >= 4 else {"header": h} for i, h in enumerate(HEADER)]
        if label:
            columns[0] = {"header": HEADER[0], "total_string": label}
        sheet.add_table(0, 0, len(AGENTS) + 1, WIDTH - 1,
                        {"data": typed_rows()[1:], "columns": columns, "total_row": True})
    same_agents(validate(numbered_book(tmp_path / "table.xlsx", build)))


@pytest.mark.parametrize("column, label", [(2, "小计"), (1, "平均"), (2, "售前一组 小计"), (1, "总计:"), (0, "合计")])
def test_a_total_or_average_row_is_skipped_wherever_its_label_stands(tmp_path, column, label):
    rows = typed_rows()
    rows.insert(4, [None] * WIDTH)
    rows[4][column] = label
    rows[4][5] = 123456.78
    same_agents(validate(numbered_book(tmp_path / "subtotal.xlsx", lambda w, s: write_sheet(s, rows))))


def test_a_row_with_an_agent_id_is_never_skipped_as_a_total(tmp_path):
    rows = typed_rows()
    rows[3][2] = "合计"                        # a team cell saying 合计 on KF1003's row
    parsed = validate(numbered_book(tmp_path / "odd-team.xlsx", lambda w, s: write_sheet(s, rows)))
    assert len(parsed.agents) == 25 and parsed.agents[2].team == "合计"


def test_merged_team_and_number_blocks_give_every_row_their_value(tmp_path):
    def build(workbook, sheet):
        rows = typed_rows()
        teams: dict[str, list[int]] = {}
        for index, row in enumerate(rows[1:], start=1):
            teams.setdefault(row[2], []).append(index)
            if len(teams[row[2]]) > 1:
                row[2] = None                         # Excel keeps a merged area's value in its first cell only
        write_sheet(sheet, [["序号", *HEADER]] + [[None, *row] for row in rows[1:]])
        for number, (team, indexes) in enumerate(teams.items(), start=1):
            assert indexes == list(range(indexes[0], indexes[-1] + 1))
            if len(indexes) > 1:
                sheet.merge_range(indexes[0], 3, indexes[-1], 3, team)
                sheet.merge_range(indexes[0], 0, indexes[-1], 0, number)
    path = numbered_book(tmp_path / "merged-teams.xlsx", build)
    same_agents(validate(path))
    assert list(readers.read(path, True).rows) == list(readers.read(path, False).rows)


def test_a_header_cell_merged_over_two_columns_names_one_column(tmp_path):
    """姓名 merged over B1:C1 for width, the names typed in B: no second 姓名 column."""
    def build(workbook, sheet):
        rows = typed_rows()
        write_sheet(sheet, [[*row[:2], None, *row[2:]] for row in rows])
        sheet.merge_range(0, 1, 0, 2, HEADER[1])
    same_agents(validate(numbered_book(tmp_path / "wide-name.xlsx", build)))


def test_a_header_over_two_rows_is_read(tmp_path):
    """工号..级别 merged down over both rows, the items under group cells 定量指标 / 定性指标."""
    def build(workbook, sheet):
        for col in range(4):
            sheet.merge_range(0, col, 1, col, HEADER[col])
        sheet.merge_range(0, 4, 0, 12, "定量指标")
        sheet.merge_range(0, 13, 0, WIDTH - 1, "定性指标")
        write_sheet(sheet, [HEADER[4:]], first_row=1, first_col=4)
        write_sheet(sheet, typed_rows()[1:], first_row=2)
    parsed = validate(numbered_book(tmp_path / "two-row-header.xlsx", build))
    same_agents(parsed)
    assert parsed.agents[0].origin == "填报表!A3"


def test_a_group_row_above_the_header_and_a_units_row_under_it_are_passed_over(tmp_path):
    units = [None] * WIDTH
    for col in range(4, 7):
        units[col] = "(元)"
    units[7], units[8] = "（人）", "(人)"
    units[11] = "单位:单"

    def build(workbook, sheet):
        sheet.merge_range(0, 0, 0, 3, "基本信息")
        sheet.merge_range(0, 4, 0, 12, "定量指标")
        write_sheet(sheet, [HEADER, units, *typed_rows()[1:]], first_row=1)
    parsed = validate(numbered_book(tmp_path / "units.xlsx", build))
    same_agents(parsed)
    assert parsed.agents[0].origin == "填报表!A4"


def test_a_signature_row_under_the_table_is_skipped(tmp_path):
    def build(workbook, sheet):
        write_sheet(sheet, typed_rows())
        last = len(AGENTS) + 2
        sheet.write(last, 0, "制表人:张三")
        sheet.write(last, 4, "审核人:")
        sheet.write(last, 5, "李四")
        sheet.write(last, 8, "日期:")
        sheet.write_datetime(last, 9, datetime.datetime(2026, 10, 5), workbook.add_format({"num_format": "yyyy-mm-dd"}))
        sheet.merge_range(last + 1, 0, last + 1, 8, "备注:离职人员不参加考核")
    same_agents(validate(numbered_book(tmp_path / "signed.xlsx", build)))


def test_header_cells_with_line_breaks_and_units_are_matched(tmp_path):
    header = list(HEADER)
    header[5] = "实际\r\n销售额"                 # Alt+Enter as Excel for Windows stores it
    header[7] = "访问量\n(询单人数)"
    header[4] = "销售目标\n（元）"
    header[6] = "上月销售额(元)"
    path = numbered_book(tmp_path / "wrapped.xlsx", lambda w, s: write_sheet(s, [header, *typed_rows()[1:]]))
    same_agents(validate(path))


def test_a_workbook_whose_dimension_says_a1_is_read_whole(tmp_path):
    """WPS and Java exporters write <dimension ref="A1"/>; openpyxl's read-only mode trusts it."""
    source = numbered_book(tmp_path / "plain.xlsx", lambda w, s: write_sheet(s, typed_rows()))
    dimension = re.search(rb'<dimension ref="[^"]*"/>', zipfile.ZipFile(source).read("xl/worksheets/sheet1.xml"))
    target = rewritten(source, tmp_path / "wps.xlsx",
                       {"xl/worksheets/sheet1.xml": [(dimension.group(0), b'<dimension ref="A1"/>')]})
    same_agents(validate(target))
    assert readers.read(target).size is None


# ------------------------------------------------------------------ csv separators
@pytest.mark.parametrize("separator", [";", "\t", "|"])
def test_a_csv_separated_otherwise_is_read(tmp_path, separator):
    path = tmp_path / "sep.csv"
    path.write_text("\n".join(separator.join(row) for row in ROWS) + "\n", encoding="utf-8-sig")
    same_agents(validate(path))


def test_a_csv_whose_separator_hides_the_header_is_refused_with_a_hint(tmp_path):
    path = tmp_path / "semicolons.csv"
    path.write_text("员工;名字;部门\nKF1;王芳;售前\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        validate(path)
    assert [(p.location, p.code, p.params) for p in caught.value.problems] == [
        ("semicolons.csv!1:10", "csv_separator", (("separator", ";"),))]
    assert "“;”" in terminal.problems(caught.value.problems, RULES, "zh")[1]


# ------------------------------------------------------------------ cells that hold no value
def test_a_formula_without_a_value_is_refused_in_an_optional_column(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "填报表"
    for row in typed_rows():
        sheet.append(row)
    sheet["G3"] = "=VLOOKUP(A3,上月!A:F,6,FALSE)"     # 上月销售额, optional
    sheet["B4"] = '=VLOOKUP(A4,名单!A:B,2,FALSE)'     # 姓名, text
    path = tmp_path / "vlookup.xlsx"
    book.save(path)
    with pytest.raises(InputError) as caught:
        validate(path)
    assert [(p.location, p.code, p.value) for p in caught.value.problems] == [
        ("填报表!G3", "formula_no_value", "=VLOOKUP(A3,上月!A:F,6,FALSE)"),
        ("填报表!B4", "formula_no_value", "=VLOOKUP(A4,名单!A:B,2,FALSE)")]


ERRORS = ["#N/A", "#DIV/0!", "#REF!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!", "#GETTING_DATA"]


@pytest.mark.parametrize("error", ERRORS)
def test_an_excel_error_value_is_refused_in_every_column(tmp_path, error):
    """Values pasted from a sheet of VLOOKUPs keep their errors (openpyxl stores them as Excel does, t="e")."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "填报表"
    for row in typed_rows():
        sheet.append(row)
    sheet["A3"] = error       # 工号, text
    sheet["G4"] = error       # 上月销售额, optional
    sheet["H5"] = error       # 访问量, required
    sheet["B6"] = error       # 姓名: no scorecard named KF1005-#N_A.xlsx
    path = tmp_path / "errors.xlsx"
    book.save(path)
    if error == "#N/A":
        assert '<c r="A3" t="e"><v>#N/A</v></c>' in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    with pytest.raises(InputError) as caught:
        validate(path)
    assert [(p.location, p.code, p.params) for p in caught.value.problems] == [
        ("填报表!A3", "excel_error", (("error", error),)),
        ("填报表!G4", "excel_error", (("error", error),)),
        ("填报表!H5", "excel_error", (("error", error),)),
        ("填报表!B6", "excel_error", (("error", error),))]


def rewritten(source: Path, target: Path, changes: dict[str, list[tuple[bytes, bytes]]]) -> Path:
    """``source`` with text replaced in some of its parts (each replacement must happen)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            data = old.read(item)
            for before, after in changes.get(item.filename, []):
                assert before in data, before
                data = data.replace(before, after)
            new.writestr(item, data)
    return target


def test_formulas_written_by_a_program_are_refused_whatever_value_it_stored(tmp_path):
    """xlsxwriter stores 0 (or the value given) with each formula and asks Excel to recalculate
    on opening (fullCalcOnLoad): until a spreadsheet saves the file, those values are not read."""
    def build(workbook, sheet):
        write_sheet(sheet, typed_rows())
        sheet.write_formula("G3", "=VLOOKUP(A3,上月!A:F,6,0)")                # stored as 0
        sheet.write_formula("H4", "=SUM(X4:Y4)", None, 812)
        sheet.write_formula("A5", "=VLOOKUP(B5,名单!A:B,2,0)", None, "#N/A")
    path = numbered_book(tmp_path / "exported.xlsx", build)
    with pytest.raises(InputError) as caught:
        validate(path)
    assert [(p.location, p.code, p.value) for p in caught.value.problems] == [
        ("填报表!G3", "formula_no_value", "=VLOOKUP(A3,上月!A:F,6,0)"),
        ("填报表!H4", "formula_no_value", "=SUM(X4:Y4)"),
        ("填报表!A5", "formula_no_value", "=VLOOKUP(B5,名单!A:B,2,0)")]
    saved = rewritten(path, tmp_path / "saved.xlsx", {      # as Excel saves it: values calculated
        "xl/workbook.xml": [(b' fullCalcOnLoad="1"', b"")],
        "xl/worksheets/sheet1.xml": [(b"6,0)</f><v>0</v>", b"6,0)</f><v>1234.5</v>")]})
    with pytest.raises(InputError) as caught:
        validate(saved)
    assert [(p.location, p.code) for p in caught.value.problems] == [("填报表!A5", "excel_error")]
    book = openpyxl.load_workbook(saved, data_only=True)["填报表"]
    assert (book["G3"].value, book["H4"].value) == (1234.5, 812)


def test_a_formula_whose_calculated_value_is_empty_text_reads_as_empty(tmp_path):
    """Excel's =IFERROR(VLOOKUP(…),"") stores t="str" and an empty value: calculated, not missing."""
    def build(workbook, sheet):
        write_sheet(sheet, typed_rows())
        sheet.write_formula("G3", '=IFERROR(VLOOKUP(A3,上月!A:F,6,0),"")', None, "")
    path = numbered_book(tmp_path / "iferror.xlsx", build)
    saved = rewritten(path, tmp_path / "saved.xlsx", {
        "xl/workbook.xml": [(b' fullCalcOnLoad="1"', b"")],
        "xl/worksheets/sheet1.xml": [(b'<c r="G3"><f>', b'<c r="G3" t="str"><f>')]})
    parsed = validate(saved)
    assert parsed.agents[1].values["sales_last_month"] is None and len(parsed.agents) == 25
    with pytest.raises(InputError) as caught:            # the same without t="str": never calculated
        validate(rewritten(path, tmp_path / "bare.xlsx", {"xl/workbook.xml": [(b' fullCalcOnLoad="1"', b"")]}))
    assert [(p.location, p.code) for p in caught.value.problems] == [("填报表!G3", "formula_no_value")]


def test_an_error_value_typed_in_a_csv_is_refused(tmp_path):
    rows = [list(row) for row in ROWS]
    rows[2][0], rows[3][2] = "#N/A", "#REF!"
    path = tmp_path / "errors.csv"
    path.write_text("\n".join(",".join(row) for row in rows) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        validate(path)
    problems = caught.value.problems
    assert [(p.location, p.code) for p in problems] == [("errors.csv!A3", "excel_error"), ("errors.csv!C4", "excel_error")]
    line = terminal.problem_line(problems[0], RULES, "zh")
    assert line.startswith("errors.csv!A3") and "#N/A" in line


def test_hidden_rows_holding_agents_are_read_and_noticed(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "填报表"
    for row in typed_rows():
        sheet.append(row)
    sheet.row_dimensions[5].hidden = True
    sheet.row_dimensions[30].hidden = True        # below the table: nobody there
    path = tmp_path / "hidden-rows.xlsx"
    book.save(path)
    parsed = validate(path)
    assert len(parsed.agents) == 25
    assert month.validate(path, RULES, prefetch=True) == parsed     # read by another process: the same
    hidden = [n for n in parsed.notices if n.code == "hidden_row"]
    assert hidden == [("KF1004", "", "填报表!A5", "KF1004", "hidden_row", (("agent", "KF1004"), ("row", "5")))]
    result = run("check", path, "--period", "2026-09")
    assert result.exit_code == 0
    assert "  填报表!A5  第 5 行是隐藏行,其中的客服 KF1004 已读取;请确认此人本月应参加考核。" in result.output.splitlines()


# ------------------------------------------------------------------ LibreOffice
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_a_workbook_saved_by_libreoffice_reads_as_excel_shows_it(tmp_path):
    def build(workbook, sheet):
        write_sheet(sheet, [["序号", *HEADER]] + [[n, *row] for n, row in enumerate(typed_rows()[1:], start=1)])
        sheet.merge_range(1, 3, 3, 3, "售前一组")
        sheet.merge_range(len(AGENTS) + 1, 0, len(AGENTS) + 1, 4, "合计")
        workbook.add_worksheet("说明").write("A1", "说明")
    source = numbered_book(tmp_path / "source.xlsx", build)
    out = tmp_path / "lo"
    subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile",
                    "--convert-to", "xlsx", "--outdir", str(out), str(source)],
                   check=True, capture_output=True, timeout=120)
    parsed = validate(out / "source.xlsx")
    same_agents(parsed)
    assert parsed.notices[0].params == (("sheet", "填报表"),)


def test_messages_of_this_issue_exist_in_both_languages():
    for code in ("sheet_read", "sheet_not_found", "sheet_unclear", "sheet_no_period", "sheet_hidden",
                 "hidden_row", "excel_error", "csv_separator", "help_opt_sheet"):
        for lang in ("zh", "en"):
            assert i18n.text(code, lang, sheet="S", sheets="A、B", period="2026-09", row="5", agent="K",
                             error="#N/A", separator=";") != code
    assert inputs.header_test(RULES)(HEADER) and not inputs.header_test(RULES)(["工号", "备注"])


S, H = sheets.Sheet, (lambda name: sheets.Sheet(name, visible=False))


@pytest.mark.parametrize("found, headers, requested, expected", [
    ([S("填报表"), S("说明")], {"填报表"}, None, ("填报表", True, None)),
    ([S("Sheet1")], set(), None, ("Sheet1", False, None)),
    ([S("说明"), S("数据")], {"数据"}, None, ("数据", True, None)),
    ([S("说明"), S("数据")], set(), None, ("说明", True, None)),             # no_header is then said at 说明!1:10
    ([S("8月"), S("9月"), S("汇总")], {"8月", "9月", "汇总"}, None, ("9月", True, None)),
    ([S("9月"), S("9月汇总")], {"9月"}, None, ("9月", True, None)),          # the summary has no agents' header
    ([S("9月"), S("9月汇总")], {"9月", "9月汇总"}, None, (None, False, "sheet_unclear")),
    ([S("2025年9月"), S("2026年8月")], {"2025年9月"}, None, (None, False, "sheet_no_period")),
    ([S("填报表"), S("8月")], {"填报表", "8月"}, None, ("填报表", True, None)),
    ([H("9月"), S("9月 (2)")], {"9月", "9月 (2)"}, None, ("9月 (2)", True, None)),
    ([S("a"), S("b")], {"a", "b"}, "B", ("b", True, None)),
    ([S("a"), S("b")], {"a", "b"}, "c", (None, False, "sheet_not_found")),
    ([], set(), None, (None, False, "no_rows")),
])
def test_the_choice_of_sheet(found, headers, requested, expected):
    choice = sheets.choose(found, "2026-09", requested, headers.__contains__, "book.xlsx")
    assert (choice.name, choice.announce, choice.problem and choice.problem.code) == expected
