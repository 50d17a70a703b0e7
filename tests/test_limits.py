"""Numbers too large to be real, text too long, sheets of garbage: refused with the cell, bounded."""

from __future__ import annotations

import time
import zipfile
from decimal import Decimal

import openpyxl
import pytest
import xlsxwriter

from helpers import run
from helpers import copy_config, edit, example_rows, ruleset, write_csv, write_xlsx
from kpi.io import config
from kpi.pipeline import month
from kpi.core import numbers
from kpi.core.errors import ConfigError, InputError
from kpi.io.writers import team_summary



def _numbers(rows):
    """The example rows with numeric columns as numbers, the way Excel stores them."""
    def value(text):
        try:
            return float(text)
        except ValueError:
            return text
    return [rows[0]] + [[value(cell) for cell in row] for row in rows[1:]]


def _xlsx(tmp_path, row, col, value, name="in.xlsx"):
    rows = _numbers(example_rows())
    rows[row][col] = value
    return write_xlsx(tmp_path / name, rows)


def _problems(path):
    with pytest.raises(InputError) as caught:
        month.validate(path, ruleset())
    return [(p.location, p.field, p.value, p.code, dict(p.params)) for p in caught.value.problems]


@pytest.mark.parametrize("value, shown", [
    (1234567890123456789, "1.234567890123457e+18"),     # a pasted order number, stored as a double (16 digits)
    (1e308, "1e+308"),
    (1e25, "1e+25"),
])
def test_a_money_value_too_large_to_be_real_is_refused_with_its_cell(tmp_path, value, shown):
    path = _xlsx(tmp_path, 1, 5, value)                 # 实际销售额 of KF1001
    assert _problems(path) == [("填报表!F2", "sales_actual", shown, "too_large", {"max": "1000000000"})]
    result = run("score", path, "--period", "2026-09", "--out", tmp_path / "o")
    assert result.exit_code == 1
    assert result.output.splitlines()[1] == (f"  填报表!F2  工号 KF1001 · 实际销售额:填写为“{shown}” → "
                                             "不能大于 1000000000(超出合理范围:是否粘贴了订单号或填错了单位?)")
    assert not (tmp_path / "o").exists() and not (tmp_path / "kpi.db").exists()


def test_a_count_too_large_is_refused(tmp_path):
    assert _problems(_xlsx(tmp_path, 3, 7, 1e25)) == [     # 访问量 of KF1003
        ("填报表!H4", "visits", "1e+25", "too_large", {"max": "100000000"})]


@pytest.mark.parametrize("text", ["inf", "-inf", "NaN", "1e25", "9" * 400, "Infinity"])
def test_infinities_and_exponents_typed_in_a_csv_are_refused(tmp_path, text):
    header, *rows = example_rows()
    rows[0][5] = text
    found = _problems(write_csv(tmp_path / "in.csv", [header, *rows], encoding="gbk"))
    shown = text if len(text) <= 40 else text[:40] + "…"
    assert found == [("in.csv!F2", "sales_actual", shown, "too_large" if text.isdigit() else "not_a_number",
                      {"max": "1000000000"} if text.isdigit() else {})]


def test_absurd_growth_is_a_problem_to_report_not_points_to_pay(tmp_path):
    path = _xlsx(tmp_path, 1, 6, 0.01)                   # 上月销售额 of KF1001: 0.01 yuan
    assert _problems(path) == [("填报表!A2", "sales_last_month", "0.01", "implausible_points",
                                {"item": "sales_growth", "points": "290059228", "max": "108",
                                 "measure": "sales_growth", "value": "1450296100.00%"})]
    result = run("score", path, "--period", "2026-09", "--out", tmp_path / "o")
    assert result.exit_code == 1
    assert result.output.splitlines()[1] == (
        "  填报表!A2  工号 KF1001 · 上月销售额:填写为“0.01” → 销售增长率得 290059228 分,超过可信上限 108 分"
        "(按规则 增长率 为 1450296100.00%),请核对输入")


def test_growth_within_the_limit_is_scored(tmp_path):
    path = _xlsx(tmp_path, 1, 6, 29005.92)               # sales five times last month's: 400% growth
    agent = month.validate(path, ruleset()).agents[0]
    assert agent.values["sales_last_month"] == Decimal("29005.92")


def test_a_text_longer_than_its_limit_is_refused_and_shown_cut(tmp_path):
    rows = _numbers(example_rows())
    rows[2][1] = "LONG-NAME"
    made = write_xlsx(tmp_path / "made.xlsx", rows)
    path = tmp_path / "long.xlsx"       # a hostile file: Excel and the writers stop at 32,767 characters
    with zipfile.ZipFile(made) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/sharedStrings.xml":
                data = data.replace(b"LONG-NAME", ("王" * 1_000_000).encode("utf-8"))
            target.writestr(item, data)
    assert _problems(path) == [("填报表!B3", "name", "王" * 40 + "…", "too_long",
                                {"max": "50", "length": "1000000"})]


def test_a_name_as_long_as_excel_allows_is_refused(tmp_path):
    assert _problems(_xlsx(tmp_path, 2, 1, "王" * 32767)) == [
        ("填报表!B3", "name", "王" * 40 + "…", "too_long", {"max": "50", "length": "32767"})]


def test_every_text_field_has_a_length_limit():
    limits = {f.id: f.max_length for f in ruleset().fields if f.type == "text"}
    assert {k: limits[k] for k in ("agent_id", "name", "team", "level")} == {"agent_id": 32, "name": 50, "team": 50,
                                                                              "level": 16}
    assert all(limits.values())   # the supervisor's comments (评语) have theirs too


def test_every_money_and_count_field_has_a_sane_maximum():
    assert all(f.max is not None for f in ruleset().fields if f.type != "text")


@pytest.mark.parametrize("old, new", [('max_length = 50', 'max_lenght = 50'), ('max = "1000000"', 'maximum = "1000000"')])
def test_a_misspelt_limit_in_fields_toml_is_a_config_error(tmp_path, old, new):
    folder = copy_config(tmp_path)
    edit(folder / "fields.toml", old, new)
    with pytest.raises(ConfigError) as caught:
        config.load(folder, "2026-09")
    assert new.split(" ")[0] in str(caught.value)


def test_a_misspelt_max_points_in_weights_toml_is_a_config_error(tmp_path):
    folder = copy_config(tmp_path)
    edit(folder / "weights.toml", 'max_points = "108"', 'max_point = "108"')
    with pytest.raises(ConfigError) as caught:
        config.load(folder, "2026-09")
    assert "max_point" in str(caught.value)


def test_a_sheet_of_garbage_is_refused_early_with_a_screenful(tmp_path):
    header = example_rows()[0]
    garbage = [[f"x{n}", "", "", "?", *(["abc"] * (len(header) - 4))] for n in range(200_000)]
    path = write_csv(tmp_path / "garbage.csv", [header, *garbage])
    started = time.monotonic()
    result = run("check", path, "--period", "2026-09")
    assert time.monotonic() - started < 30
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "输入有 1,000+ 处问题,未生成任何文件:"
    assert len(lines) == 1 + 50 + 2
    assert lines[-2] == "  ……另有 950 处问题"
    assert lines[-1].endswith("问题超过 1000 处,检查到此为止;请先改正上面的问题(是否选错了文件或工作表?)")


def test_the_totals_histogram_is_bounded_by_the_range_not_the_size_of_a_total():
    class Row:
        def __init__(self, total):
            self.total = Decimal(total)
    bins = team_summary._histogram([Row("75"), Row("8.5e14")])
    assert len(bins) <= team_summary.HISTOGRAM_BINS
    assert sum(count for _, count in bins) == 2
    assert team_summary._histogram([Row("75"), Row("103.5")])[-1] == ("100–110", 1)
    assert len(team_summary._histogram([Row("75")])) == 11


def test_a_huge_rate_is_shown_short_not_as_three_hundred_digits():
    assert numbers.percent(Decimal("1e308")) == "1.0000E+310%"
    assert numbers.percent(Decimal("0.0149999")) == "1.4999…%"


def test_extreme_but_believable_values_are_scored_and_written(tmp_path):
    rows = _numbers(example_rows())
    rows[1][4], rows[1][5], rows[1][6] = 0.01, 1e9, 1e9    # target 0.01 yuan, sales at the maximum
    rows[1][7], rows[1][8] = 1e8, 1e8                       # visits and deals at theirs
    path = write_xlsx(tmp_path / "extreme.xlsx", rows)
    result = run("score", path, "--period", "2026-09", "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "o" / "scorecards").rglob("*.xlsx"))) == 25


def test_a_csv_cell_longer_than_the_csv_module_reads_is_refused_with_its_line(tmp_path):
    header, *rows = example_rows()
    rows[1][1] = "王" * 200_000
    path = write_csv(tmp_path / "long.csv", [header, *rows])
    result = run("check", path, "--period", "2026-09")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "输入有 1 处问题,未生成任何文件:",
        "  long.csv!3:3  这一行无法按 CSV 读取(field larger than field limit (131072)),例如一个单元格过长"]


def test_a_csv_is_read_lazily_so_a_garbage_million_rows_stays_small(tmp_path):
    header = example_rows()[0]
    path = write_csv(tmp_path / "garbage.csv", [header, *([["?"] * len(header)] * 1_000_000)])
    grid = month.readers.read(path)
    assert not isinstance(grid.rows, list)
    with pytest.raises(InputError) as caught:
        month.validate(path, ruleset())
    found = caught.value.problems
    assert 1000 < len(found) <= 1000 + len(header) + 1      # stopped after the row that passed 1,000
    last_row = int(found[-2].location.split("!")[1].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    assert found[-1].code == "too_many_problems"
    assert found[-1].location == f"garbage.csv!{last_row + 1}:{last_row + 1}"


def test_a_limit_from_another_cell_is_shown_short_not_three_hundred_digits(tmp_path):
    rows = _numbers(example_rows())
    rows[1][7], rows[1][8] = 5e-324, 3          # 访问量 a denormal double, 成交量 3
    found = _problems(write_xlsx(tmp_path / "tiny.xlsx", rows))
    assert ("填报表!I2", "deals", "3", "at_most_field", {"other": "visits", "limit": "5.0000E-324"}) in found


def test_a_workbook_of_garbage_is_refused_without_reading_it_all(tmp_path):
    header = example_rows()[0]
    path = tmp_path / "garbage.xlsx"
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet("填报表")
    sheet.write_row(0, 0, header)
    for n in range(1, 100_001):    # empty required cells: each asks whether a formula hides there
        sheet.write_row(n, 0, [f"x{n}", "", "", "?", *(["abc"] * (len(header) - 4))])
    workbook.close()
    started = time.monotonic()
    result = run("check", path, "--period", "2026-09")
    assert time.monotonic() - started < 10      # was 20 s: the formula hint read all 100,000 rows
    assert result.exit_code == 1
    assert result.output.splitlines()[-2:] == [
        "  ……另有 950 处问题",
        "  填报表!52:52  问题超过 1000 处,检查到此为止;请先改正上面的问题(是否选错了文件或工作表?)"]


def test_a_formula_without_a_value_far_down_the_sheet_is_still_named(tmp_path):
    header, *rows = example_rows()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "填报表"
    sheet.append(header)
    for n in range(2000):
        row = rows[n % len(rows)]
        sheet.append([f"Y{n}", *[float(v) if v.replace(".", "").isdigit() else v for v in row[1:]]])
    sheet["F1800"] = "=E1800*0.9"           # openpyxl stores no calculated value
    path = tmp_path / "formula.xlsx"
    book.save(path)
    assert [(p[0], p[3], p[2]) for p in _problems(path)] == [("填报表!F1800", "formula_no_value", "=E1800*0.9")]
