"""One error shape (issue 21): input problems, config faults, ledger refusals and returned cards
refused are the same record (kpi.core.errors.Problem), rendered by one function
(kpi.render.terminal.problem_lines); cli.py and the web have no other error renderer."""

from __future__ import annotations

import ast
from pathlib import Path

from helpers import ROOT, copy_config, edit, example_rows, run, ruleset, write_csv
from kpi.core.errors import (CONFIG, INPUT, LEDGER, RETURNED, ConfigError, InputError, InputProblem, PeriodError,
                             Problem, problems_of, refusal)
from kpi.render import terminal
from kpi.io.proposal import ProposalError
from kpi.ledger.db import LedgerError
from kpi.ledger.returned_cards import Collected
from kpi.ledger.revisions import ReviewError
from kpi.web.pages import said

RULES = ruleset()
NUMBER_ZH = "应为数字(可带千分位或¥,不能带其他单位或文字)"


def test_input_problems_are_the_record_and_render_with_their_header():
    error = InputError([InputProblem("KF1001", "sales_actual", "填报表!F2", "abc", "not_a_number"),
                        InputProblem("", "", "book.xlsx", "", "unsupported_format")])
    found = problems_of(error)
    assert found[0] == Problem(INPUT, "填报表!F2", "not_a_number", (), agent="KF1001", field="sales_actual",
                               value="abc")
    assert terminal.problem_lines(found, "zh", RULES) == [
        "输入有 2 处问题,未生成任何文件:",
        f"  填报表!F2  工号 KF1001 · 实际销售额:填写为“abc” → {NUMBER_ZH}",
        "  book.xlsx  只支持 .xlsx 或 .csv 文件"]
    assert terminal.problem_lines(found, "zh", RULES, header=False) == terminal.problem_lines(found, "zh", RULES)[1:]
    assert terminal.problem_lines(error.problems, "zh", RULES) == terminal.problem_lines(found, "zh", RULES)


def test_a_long_input_list_is_cut_and_a_stopped_check_says_so_last():
    found = [InputProblem("", "", f"填报表!F{n}", "", "unsupported_format") for n in range(3)]
    found.append(InputProblem("", "", "填报表", "", "too_many_problems", (("count", "3"),)))
    lines = terminal.problem_lines(found, "en", None, shown=2)
    assert lines[0] == "3+ input problem(s); nothing was written:"
    assert lines[1:] == ["  填报表!F0  only .xlsx and .csv files can be read",
                         "  填报表!F1  only .xlsx and .csv files can be read",
                         "  … and 1 more problems",
                         "  填报表  more than 3 problems: checking stopped here; correct those first "
                         "(the wrong file or sheet?)"]


def test_config_faults_are_the_record_every_one_with_its_example():
    error = ConfigError.of([ConfigError("config/pay_bands.toml", "version[effective=2020-01].bands", "overlap",
                                        "[[version.bands]]\nmin = \"80\"\n"),
                            ConfigError("config/calendar.toml", "extra_day_off", "unknown key (check its spelling)")])
    found = problems_of(error)
    assert [(p.source, p.location, p.field, p.hint) for p in found] == [
        (CONFIG, "config/pay_bands.toml", "version[effective=2020-01].bands", "config_example"),
        (CONFIG, "config/calendar.toml", "extra_day_off", "")]
    assert terminal.problem_lines(found, "zh") == [
        "配置错误: config/pay_bands.toml: version[effective=2020-01].bands: overlap",
        "  A correct example:",
        "    [[version.bands]]",
        "    min = \"80\"",
        "config/calendar.toml: extra_day_off: unknown key (check its spelling)"]
    assert terminal.problem_lines(found, "en")[0].startswith("Config error: config/pay_bands.toml: ")
    assert terminal.problem_lines(found, "zh", header=False) == error.render().splitlines()


def test_a_proposal_lists_its_faults_under_its_header():
    error = ProposalError([ConfigError("p/weights.toml", "(syntax)", "not valid TOML"),
                           ConfigError("p/x.toml", "(file)", "not a config file", "a = 1")])
    assert terminal.problem_lines(problems_of(error), "en", header="proposal_errors") == [
        "The proposal has 2 problems; nothing was compared or written:",
        "  p/weights.toml: (syntax): not valid TOML",
        "  p/x.toml: (file): not a config file",
        "    A correct example:",
        "      a = 1"]


def test_ledger_refusals_are_the_record():
    for error in (ReviewError("month_closed", period="2026-09"), LedgerError("ledger_missing", path="k.db"),
                  PeriodError("2026-13")):
        found = problems_of(error)
        assert len(found) == 1 and found[0].source == LEDGER and found[0].code == error.code
    assert terminal.problem_lines(problems_of(ReviewError("month_closed", period="2026-09")), "zh") == [
        "2026-09 已结账,不能再修改;如确需修改,请先运行 kpi reopen 2026-09 --reason \"原因\"。"]
    assert terminal.problem_lines(problems_of(LedgerError("ledger_missing", path="k.db")), "en") == [
        "the ledger k.db does not exist: run where the ledger is, or name it with --db (kpi score creates it)."]
    assert terminal.problem_lines(problems_of(PeriodError("2026-13")), "zh") == ["期间应为 YYYY-MM 格式,例如 2026-09。"]


def test_returned_cards_refused_are_the_record():
    card = refusal("card_seal_invalid", {"agent": "KF1001", "cell": "考核表!H1", "revision": 2}, "KF1001-张三.xlsx",
                   RETURNED)
    assert card == Problem(RETURNED, "KF1001-张三.xlsx", "card_seal_invalid",
                           (("agent", "KF1001"), ("cell", "考核表!H1"), ("revision", "2")))
    line = ("拒收 KF1001-张三.xlsx:工号 KF1001:考核表的封签(考核表!H1)与台账第 2 版不符(不是 kpi 为此人此月此版签发的"
            "考核表,或工号、月份、版本被改过),拒收")
    assert terminal.problem_lines([card], "zh") == [line]
    assert terminal.collected(Collected([], [], [card]), "zh") == [line, "共记录 0 份,跳过 0 份,拒收 1 份"]


def test_the_web_says_what_the_terminal_says():
    error = ConfigError.of([ConfigError("a.toml", "k", "m", "x = 1"), ConfigError("b.toml", "j", "n")])
    assert said(error, "zh") == error.render()
    assert said(ReviewError("month_closed", period="2026-09"), "en") == \
        terminal.problem_lines(problems_of(ReviewError("month_closed", period="2026-09")), "en")[0]


def test_every_config_fault_is_reported_at_once_on_the_command_line(tmp_path):
    folder = copy_config(tmp_path)
    edit(folder / "pay_bands.toml", 'min = "80"\nmax = "90"', 'min = "85"\nmax = "90"')
    edit(folder / "calendar.toml", "working_day = 3", "working_day = 0")
    result = run("check", write_csv(tmp_path / "in.csv", example_rows()), "--period", "2026-09", "--config", folder)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith(f"配置错误: {folder / 'pay_bands.toml'}: version[effective=2020-01].bands")
    assert f"{folder / 'calendar.toml'}: version[effective=2020-01].steps[id=supervisor_submit].working_day: " \
           "working_day counts from 1 after the month, or from -1 before it; 0 is neither" in lines


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, ast.unparse(node.func)


def test_cli_has_no_other_error_renderer():
    """cli.py reports errors only through fail() (Problem records → terminal.problem_lines): it
    never renders an error's code, a config error's text or an input list by itself, and exits 1
    only in fail() or after a report that lists what failed (collect, verify)."""
    tree = ast.parse((ROOT / "cli.py").read_text(encoding="utf-8"))
    functions = {node.name: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    for call, name in _calls(tree):
        assert name not in {"terminal.problems", "terminal.problem_line", "terminal.problem_text", "terminal.message"}
        assert not name.endswith(".render"), ast.unparse(call)
        if name == "i18n.text":
            assert not any(isinstance(n, ast.Attribute) and n.attr in ("code", "params") for n in ast.walk(call)), \
                f"an error's message rendered by hand: {ast.unparse(call)}"
            key = call.args[0]
            assert not isinstance(key, ast.Constant) or key.value not in {"config_error", "problems_header", "proposal_errors", "collect_refused",
                                     "output_error", "whatif_output_error", "import_output_error", "whatif_no_ledger"}
    exits = {name for name, node in functions.items() for call, called in _calls(node)
             if called == "sys.exit" and ast.unparse(call.args[0]) == "1"}
    assert exits == {"fail", "collect", "verify"}
    renderers = [call for call, called in _calls(functions["fail"]) if called.startswith("terminal.")]
    assert [ast.unparse(c.func) for c in renderers] == ["terminal.problem_lines"]


def test_the_web_has_no_other_error_renderer():
    for path in (ROOT / "kpi" / "web").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "error.code, " not in text.replace("error.code == ", ""), path.name
        assert ".render()" not in text, path.name
