"""Issue 22: nothing stale or of another month slips in (the sheet's month, last month's sales)."""

from __future__ import annotations

import openpyxl

from helpers import run
from helpers import EXAMPLE_CSV, example_rows, write_csv
from kpi.io import readers

from test_ledger import approve_levels



def filled_template(tmp_path, period):
    """kpi template's workbook for ``period``, filled with the example month's figures as a supervisor would."""
    roster = write_csv(tmp_path / "roster.csv", [row[:4] for row in example_rows()])
    path = tmp_path / f"t-{period}.xlsx"
    assert run("template", "--period", period, "--roster", roster, "-o", path).exit_code == 0
    book = openpyxl.load_workbook(path)
    sheet = book["填报表"]
    header = [c.value for c in sheet[1]]
    rows = {r[0]: r for r in example_rows()[1:]}
    source_header = example_rows()[0]
    for row in sheet.iter_rows(min_row=2):
        data = rows[row[0].value]
        for cell, name in zip(row, header):
            if name in source_header and cell.column > 4 and data[source_header.index(name)] != "":
                cell.value = float(data[source_header.index(name)])
    book.save(path)
    return path


def test_the_template_carries_its_month(tmp_path):
    path = filled_template(tmp_path, "2026-10")
    book = openpyxl.load_workbook(path)
    assert book.defined_names["kpi_period"].value == '"2026-10"'
    assert book.properties.title == "客服人员绩效考核表(填报表)2026-10"
    assert book["说明"]["B1"].value == "考核月份 2026-10"
    assert readers.read(path).period == "2026-10"


def test_check_and_score_refuse_a_sheet_of_another_month(tmp_path):
    path = filled_template(tmp_path, "2026-10")
    for command in ("check", "score"):
        result = run(command, path, "--period", "2026-09")
        assert result.exit_code == 1
        assert ("t-2026-10.xlsx  这是 2026-10 的填报表,不是 2026-09 的;请用 kpi template --period 2026-09 "
                "生成本月的表。") in result.output
    assert not (tmp_path / "kpi-out").exists()
    assert run("check", path, "--period", "2026-10").exit_code == 0


def test_a_sheet_without_a_month_and_a_roster_of_any_month_are_read(tmp_path):
    assert run("check", EXAMPLE_CSV, "--period", "2026-11").exit_code == 0       # a CSV says no month
    old = filled_template(tmp_path, "2026-08")                                   # last month's sheet as roster
    assert run("template", "--period", "2026-09", "--roster", old, "-o", tmp_path / "t.xlsx").exit_code == 0


def test_next_months_template_takes_last_months_sales_from_the_closed_month(tmp_path):
    assert run("score", EXAMPLE_CSV, "--period", "2026-09", "--out", "out").exit_code == 0
    approve_levels()
    assert run("close", "2026-09").exit_code == 0
    rows = [row[:4] + [row[6]] for row in example_rows()]         # roster with a stale 上月销售额 (August's)
    rows[2][4] = "100"                                            # KF1002: differs from September's sales
    roster = write_csv(tmp_path / "roster.csv", rows)
    result = run("template", "--period", "2026-10", "--roster", roster, "-o", tmp_path / "t.xlsx")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    september = {row[0]: float(row[5]) for row in example_rows()[1:]}
    differing = [row[0] for row in rows[1:] if row[4] and float(row[4]) != september[row[0]]]
    assert lines[1] == f"以下 {len(differing)} 名客服的花名册“上月销售额”与台账中已结账的 2026-09#1 不同,表中已填台账的数字:"
    assert f"  KF1002 李娜:花名册 100.00,台账 {september['KF1002']:,.2f}" in lines
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx")["填报表"]
    header = [c.value for c in sheet[1]]
    values = {r[0].value: r[header.index("上月销售额")].value for r in sheet.iter_rows(min_row=2)}
    assert values["KF1002"] == september["KF1002"]


def test_before_closing_the_roster_figure_stays(tmp_path):
    assert run("score", EXAMPLE_CSV, "--period", "2026-09", "--out", "out").exit_code == 0
    rows = [row[:4] + ["100"] for row in example_rows()]
    rows[0][4] = "上月销售额"
    roster = write_csv(tmp_path / "roster.csv", rows)
    result = run("template", "--period", "2026-10", "--roster", roster, "-o", tmp_path / "t.xlsx")
    assert result.exit_code == 0 and len(result.output.splitlines()) == 1
