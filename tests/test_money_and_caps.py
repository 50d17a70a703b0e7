"""Issue 22: money beyond cents, what an uncapped bonus gives, implausible totals, the 说明 sheet's words."""

from __future__ import annotations

import json

import openpyxl

from helpers import run
from helpers import copy_config, edit, example_rows, write_csv, write_xlsx



def base_pay_rows(value):
    rows = [row[:4] + ["级别工资" if i == 0 else "", *row[4:]] for i, row in enumerate(example_rows())]
    rows[1][4] = value                                            # KF1001's 级别工资, column E
    return rows


def test_money_with_more_than_two_decimals_is_a_problem(tmp_path):
    path = write_xlsx(tmp_path / "in.xlsx", [[float(v) if i == 4 and r and v else v for i, v in enumerate(row)]
                                             for r, row in enumerate(base_pay_rows("1000.005"))])
    result = run("check", path, "--period", "2026-09")
    assert result.exit_code == 1
    assert "填报表!E2  工号 KF1001 · 级别工资:填写为“1000.005” → 金额最多两位小数(到分)" in result.output


def test_by_config_it_is_a_notice_and_read_rounded_by_the_pay_rule(tmp_path):
    folder = copy_config(tmp_path)
    edit(folder / "fields.toml", 'money_decimals = "problem"', 'money_decimals = "notice"')
    path = write_csv(tmp_path / "in.csv", base_pay_rows("1000.005"))
    checked = run("check", path, "--period", "2026-09", "--config", folder)
    assert checked.exit_code == 0, checked.output
    assert "金额超过两位小数,已按工资的舍入规则读作 1000.01" in checked.output
    scored = run("score", path, "--period", "2026-09", "--config", folder, "--out", "out")
    assert scored.exit_code == 0, scored.output
    agent = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))["agents"][0]
    assert agent["base_pay"] == "1000.01"                                 # shown as computed: half up


def test_two_decimals_and_fewer_pass(tmp_path):
    assert run("check", write_csv(tmp_path / "in.csv", base_pay_rows("1000.50")), "--period", "2026-09").exit_code == 0


def test_rules_say_plainly_what_an_uncapped_growth_bonus_gives():
    out = run("rules", "--period", "2026-09").output.splitlines()
    assert ("    不封顶:增长率为 200.00% 时本项得 48 分(原文“每增加5%加1分”没有上限);如需封顶,在 weights.toml 为该项设 cap"
            in out)
    assert "总分超过 130 分时,kpi check 会提示核对(多半是录入错误)。" in out


def test_a_configured_cap_is_said_and_applied(tmp_path):
    folder = copy_config(tmp_path)
    edit(folder / "weights.toml", 'measure = { kind = "growth", value = "sales_actual", base = "sales_last_month" }',
         'measure = { kind = "growth", value = "sales_actual", base = "sales_last_month" }\ncap = "13"')
    out = run("rules", "--period", "2026-09", "--config", folder).output.splitlines()
    assert "    封顶:本项最多 13 分" in out and not any("不封顶:增长率" in line for line in out)
    rows = example_rows()
    rows[1][6] = "10000"                                          # KF1001: growth of +1350 %
    path = write_csv(tmp_path / "in.csv", rows)
    assert run("score", path, "--period", "2026-09", "--config", folder, "--out", "out").exit_code == 0
    agent = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))["agents"][0]
    assert agent["points"]["sales_growth"] == 13


def test_an_implausible_total_is_a_notice_in_check(tmp_path):
    rows = example_rows()
    rows[1][6] = "41437"                                          # KF1001: last month typed short (+250 %)
    result = run("check", write_csv(tmp_path / "in.csv", rows), "--period", "2026-09")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "提示:以下 1 名客服的总分高得不合常理,请核对录入(仍可评分):"
    assert lines[1].startswith("  in.csv!A2  工号 KF1001 的总分 ") and lines[1].endswith("超过合理上限 130,请核对录入")


def test_the_notes_sheet_shows_no_paths_and_no_python_names(tmp_path):
    roster = write_csv(tmp_path / "roster.csv", [row[:4] for row in example_rows()])
    assert run("template", "--period", "2026-09", "--roster", roster, "-o", tmp_path / "t.xlsx").exit_code == 0
    text = "\n".join(str(v) for row in openpyxl.load_workbook(tmp_path / "t.xlsx")["说明"].iter_rows(values_only=True)
                     for v in row if v)
    assert "ROUND_" not in text and "配置目录" not in text and "/" + "config" not in text
    assert "四舍五入到 0.01 元" in text
    english = run("template", "--period", "2026-09", "--roster", roster, "-o", tmp_path / "e.xlsx", "--lang", "en")
    assert english.exit_code == 0
    sheet = openpyxl.load_workbook(tmp_path / "e.xlsx").worksheets[1]
    assert "rounded half up to 0.01 yuan" in "\n".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row if v)
