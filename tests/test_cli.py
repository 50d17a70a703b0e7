"""The command line: exact exit codes and the key lines a user reads."""

from __future__ import annotations

import json

import pytest

import cli
from helpers import run
from helpers import EXAMPLE_CSV, EXAMPLE_XLSX, example_rows, write_csv



def test_score_the_example_month(tmp_path):
    out = tmp_path / "out"
    result = run("score", EXAMPLE_XLSX, "--period", "2026-09", "--out", out)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "2026-09 绩效考核:25 名客服"
    assert "  50分以下              2 人" in lines
    assert "  100(含)分以上         5 人" in lines
    assert any(line.startswith("工资合计:¥") for line in lines)
    assert lines[-2] == f"已写入:{out}"
    assert lines[-1] == f"已记入台账:2026-09 第 1 版({tmp_path / 'kpi.db'})"
    assert (out / "results.json").is_file() and (out / "payroll-2026-09.xlsx").is_file()
    assert len(list((out / "scorecards").rglob("*.xlsx"))) == 25


def test_score_in_english_from_csv(tmp_path):
    result = run("score", EXAMPLE_CSV, "--period", "2026-09", "--out", tmp_path / "o", "--lang", "en")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "2026-09 assessment: 25 agents"
    doc = json.loads((tmp_path / "o" / "results.json").read_text(encoding="utf-8"))
    assert doc["lang"] == "en" and doc["agents"][0]["band"] == "100 and above"


def test_kpi_lang_environment_variable(tmp_path):
    result = run("score", EXAMPLE_CSV, "--period", "2026-09", "--out", tmp_path / "o", KPI_LANG="en")
    assert result.exit_code == 0 and result.output.startswith("2026-09 assessment")


def test_bad_input_lists_every_problem_writes_nothing_and_exits_1(tmp_path):
    rows = example_rows()
    rows[1][8] = "999999"
    rows[2][4] = ""
    out = tmp_path / "out"
    result = run("score", write_csv(tmp_path / "bad.csv", rows), "--period", "2026-09", "--out", out)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "输入有 2 处问题,未生成任何文件:"
    assert lines[1] == (f"  bad.csv!I2  工号 {rows[1][0]} · 成交量(成交人数):填写为“999999” → "
                        f"不能大于访问量(询单人数)({rows[1][7]})")
    assert lines[2] == f"  bad.csv!E3  工号 {rows[2][0]} · 销售目标:为空 → 必填,不能为空"
    assert not out.exists()
    assert "Traceback" not in result.output


def test_bad_input_in_english(tmp_path):
    rows = example_rows()
    rows[1][8] = "999999"
    result = run("score", write_csv(tmp_path / "bad.csv", rows), "--period", "2026-09", "--out", tmp_path / "o",
                 "--lang", "en")
    assert result.exit_code == 1
    assert result.output.splitlines()[1] == (f"  bad.csv!I2  agent {rows[1][0]} · Buyers: typed “999999” → "
                                             f"may not exceed Visitors ({rows[1][7]})")


def test_a_failed_rerun_keeps_the_previous_output(tmp_path):
    out = tmp_path / "out"
    assert run("score", EXAMPLE_CSV, "--period", "2026-09", "--out", out).exit_code == 0
    before = (out / "results.json").read_bytes()
    bad = tmp_path / "empty.csv"
    bad.write_bytes(b"")
    result = run("score", bad, "--period", "2026-09", "--out", out)
    assert result.exit_code == 1 and "empty.csv  文件是空的" in result.output
    assert (out / "results.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_missing_input_file_exits_1(tmp_path):
    result = run("score", tmp_path / "none.xlsx", "--period", "2026-09")
    assert result.exit_code == 1
    assert "none.xlsx  文件不存在或无法打开" in result.output


def test_bad_period_is_a_usage_error():
    result = run("score", EXAMPLE_CSV, "--period", "2026-13")
    assert result.exit_code == 2
    assert "YYYY-MM" in result.output


def test_broken_config_exits_1_with_file_and_key(tmp_path):
    from helpers import copy_config, edit
    folder = copy_config(tmp_path)
    edit(folder / "pay_bands.toml", 'min = "80"\nmax = "90"', 'min = "85"\nmax = "90"')
    result = run("score", EXAMPLE_CSV, "--period", "2026-09", "--config", folder, "--out", tmp_path / "o")
    assert result.exit_code == 1
    assert "配置错误:" in result.output and "pay_bands.toml: version[effective=2020-01].bands" in result.output
    assert "A correct example:" in result.output
    assert not (tmp_path / "o").exists()


def test_kpi_config_environment_variable(tmp_path):
    from helpers import copy_config, edit
    folder = copy_config(tmp_path)
    edit(folder / "weights.toml", 'title = { zh = "客服人员绩效考核表(默认解读)"', 'title = { zh = "本公司考核表"')
    result = run("rules", "--period", "2026-09", KPI_CONFIG=str(folder))
    assert result.exit_code == 0
    assert result.output.splitlines()[0].startswith("2026-09 适用的考核规则:本公司考核表")


def test_rules_prints_the_table_with_sources():
    result = run("rules", "--period", "2026-09")
    assert result.exit_code == 0
    out = result.output
    assert "  销售额完成率(权重 30 分)" in out
    assert "    原文:考核标准为100%,每低于5%,扣除该项1分;高于10%+2分" in out
    assert "我方解读:原文两档扣分会使转化率越低得分越高" in out
    assert "  100(含)分以上      ×1.2   建议升2级" in out


def test_rules_in_english():
    result = run("rules", "--period", "2026-09", "--lang", "en")
    assert result.exit_code == 0
    assert "  Sales completion (weight 30)" in result.output
    assert "Our reading: The source's two deductions would reward the lower rate" in result.output


COMMANDS = [[], ["score"], ["check"], ["template"], ["rules"], ["timeline"], ["collect"], ["confirm"], ["object"],
            ["status"], ["level"], ["close"], ["reopen"], ["history"], ["show"], ["import"], ["decide"], ["verify"],
            ["serve"], ["user"], ["whatif"], ["adopt"]]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example_in_both_languages(command):
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "示例:kpi " in result.output
    english = run(*command, "--help", KPI_LANG="en")
    assert english.exit_code == 0 and "Example: kpi " in english.output and "示例" not in english.output
    if command:
        flag = run(*command, "--help", "--lang", "en")
        assert flag.output == english.output


def test_every_command_is_covered_by_the_help_test():
    assert sorted(cli.main.commands) == sorted(c[0] for c in COMMANDS if c)


def test_an_internal_error_is_one_line_with_exit_70(monkeypatch):
    from kpi.pipeline import month
    monkeypatch.setattr(month, "validate", lambda *a, **k: 1 / 0)
    result = run("check", EXAMPLE_CSV, "--period", "2026-09")
    assert result.exit_code == 70
    assert result.output == ("内部错误:ZeroDivisionError: division by zero。请把这条信息和输入文件发给维护者"
                             "(设置 KPI_DEBUG=1 可显示详细信息)。\n")


def test_readme_commands_are_the_ones_ci_runs():
    from helpers import ROOT
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line for line in readme.splitlines() if line.startswith("python3 -m venv")]
    assert len(commands) == 2
    for command in commands:
        assert command in ci.splitlines()


def test_check_ok_line(tmp_path):
    result = run("check", EXAMPLE_XLSX, "--period", "2026-09")
    assert result.exit_code == 0
    assert result.output == "检查通过:25 名客服,2 个组,可以评分(2026-09)\n"
    assert list(tmp_path.iterdir()) == []


def test_check_lists_problems_and_exits_1(tmp_path):
    rows = example_rows()
    rows[5][12] = str(int(rows[5][11]) + 1)
    rows[6][17] = "9"
    result = run("check", write_csv(tmp_path / "bad.csv", rows), "--period", "2026-09", "--lang", "en")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "2 input problem(s); nothing was written:"
    assert lines[1].startswith(f"  bad.csv!M6  agent {rows[5][0]} · Refunds: typed")
    assert lines[2] == f"  bad.csv!R7  agent {rows[6][0]} · Sales skill: typed “9” → must be at most 7 (the item's maximum)"


def test_check_reports_how_odd_cells_were_read(tmp_path):
    rows = example_rows()
    rows[1][4] = "¥１２３,０００"
    result = run("check", write_csv(tmp_path / "odd.csv", rows), "--period", "2026-09")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "以下 1 个单元格已按说明读取,请核对:"
    assert lines[1] == f"  odd.csv!E2  工号 {rows[1][0]} · 销售目标:填写为“¥１２３,０００” → 已读取为 123000"


def test_clicks_own_texts_follow_the_language():
    zh = run("score", "x.csv")
    assert zh.exit_code == 2
    assert zh.output == "用法: main score [OPTIONS] INPUT\n运行 'main score --help' 查看帮助。\n\n错误:缺少选项 '--period'.\n"
    en = run("score", "x.csv", "--lang", "en")
    assert "Error: Missing option '--period'" in en.output
    assert "选项:" in run("rules", "--help").output and "[默认:zh]" in run("rules", "--help").output


def test_the_compiled_click_catalogue_matches_its_source():
    import gettext
    import re
    from helpers import ROOT
    folder = ROOT / "kpi" / "locale" / "zh_CN" / "LC_MESSAGES"
    text = (folder / "messages.po").read_text(encoding="utf-8")
    pairs = re.findall(r'^msgid "(.+)"\nmsgstr "(.+)"$', text, flags=re.M)
    with open(folder / "messages.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    assert len(pairs) > 30
    for msgid, msgstr in pairs:
        assert compiled.gettext(msgid.replace('\\"', '"')) == msgstr.replace('\\"', '"'), msgid
