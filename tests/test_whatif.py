"""kpi whatif / kpi adopt / kpi rules --diff: a rule change's cost, before anyone adopts it."""

from __future__ import annotations

import hashlib
import json
import shutil
import tomllib
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cli
from helpers import EXAMPLE_XLSX, copy_config, edit
from kpi.io import config, proposal
from kpi.ledger import db as ledger
from kpi.core import numbers, whatif
from kpi.pipeline import scored

PERIOD = "2026-09"


@pytest.fixture(scope="module")
def scored_db(tmp_path_factory) -> Path:
    """A ledger holding the example month scored as 2026-09 and again as 2026-10."""
    folder = tmp_path_factory.mktemp("scored")
    db = folder / "kpi.db"
    for period in (PERIOD, "2026-10"):
        result = CliRunner().invoke(cli.main, ["score", str(EXAMPLE_XLSX), "--period", period, "--db", str(db),
                                               "--out", str(folder / period), "--no-scorecards"])
        assert result.exit_code == 0, result.output
    return db


@pytest.fixture
def db(scored_db, tmp_path) -> Path:
    target = tmp_path / "kpi.db"
    shutil.copy(scored_db, target)
    return target


def only(tmp_path: Path, name: str, old: str, new: str, count: int = 1) -> Path:
    """A proposal directory holding only ``name``, the shipped file with one edit."""
    folder = tmp_path / f"proposal-{name.split('.')[0]}"
    folder.mkdir()
    shutil.copy(config.default_dir() / name, folder / name)
    edit(folder / name, old, new, count)
    return folder


def run(*args):
    return CliRunner().invoke(cli.main, [str(a) for a in args])


def compare(db: Path, folder, periods=(PERIOD,)) -> whatif.Comparison:
    with ledger.Ledger(db) as book:
        return scored.compare(book, list(periods), folder, None)


# ------------------------------------------------------------------ the laws of the comparison
def test_a_month_compared_with_its_own_rules_has_no_difference_anywhere(db):
    comparison = compare(db, config.default_dir(), (PERIOD, "2026-10"))
    assert len(comparison.agents) == 50
    for change in comparison.agents:
        assert not change.changed, change
        assert change.items == () and change.difference == 0
        assert (change.total_now, change.band_now, change.multiplier_now, change.level_change_now) == \
               (change.total_proposed, change.band_proposed, change.multiplier_proposed, change.level_change_proposed)
    total = comparison.total
    assert total.pay_now == total.pay_proposed == Decimal("243740.00")
    assert (total.winners, total.losers, total.unchanged, total.level_changes) == (0, 0, 50, 0)
    assert all(band.now == band.proposed for band in total.bands)
    assert all(team.now == team.proposed for team in total.teams)
    assert total.largest == ()


def test_raising_one_multiplier_changes_pay_and_nothing_else(db, tmp_path):
    folder = only(tmp_path, "pay_bands.toml", 'multiplier = "0.9"', 'multiplier = "1.0"')
    comparison = compare(db, folder)
    moved = [c for c in comparison.agents if c.difference]
    assert moved and {c.band_now["zh"] for c in moved} == {"90(含)~100分"}
    for change in comparison.agents:
        assert change.items == ()
        assert change.total_now == change.total_proposed and change.band_now == change.band_proposed
        assert change.level_change_now == change.level_change_proposed
        if change.band_now["zh"] == "90(含)~100分":
            assert change.multiplier_proposed == Decimal("1.0")
            assert change.difference > 0
        else:
            assert change.difference == 0 and change.multiplier_now == change.multiplier_proposed
    assert comparison.total.winners == len(moved) == 6 and comparison.total.losers == 0


def test_a_threshold_change_moves_exactly_the_agents_on_its_boundary(db, tmp_path):
    folder = only(tmp_path, "weights.toml", 'max = "0.015"', 'max = "0.0155"')
    edit(folder / "weights.toml", 'min = "0.015"', 'min = "0.0155"')
    with ledger.Ledger(db) as book:
        month = scored.month(book, PERIOD)
    boundary = {a.agent_id for a in month.agents
                if Decimal("0.015") <= a.values["deals"] / a.values["visits"] < Decimal("0.0155")}
    assert boundary == {"KF1005", "KF1017"}
    comparison = compare(db, folder)
    moved = {c.agent_id for c in comparison.agents if c.items}
    assert moved == boundary
    for change in comparison.agents:
        if change.agent_id in boundary:
            (item,) = change.items
            assert item.item_id == "conversion" and item.points_now > item.points_proposed
            assert "1.5%(含)以上,满分 → 得 5 分" in item.why_now["zh"]
            assert "1%(含)至1.5%,扣2分 → 得 3 分" in item.why_proposed["zh"]  # the tier's words, as configured
            assert item.why_now["en"] and item.why_proposed["en"]
            assert change.total_proposed == change.total_now - (item.points_now - item.points_proposed)
        else:
            assert not change.changed


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.decimals(min_value=0, max_value=2, places=2), min_size=6, max_size=6))
def test_the_per_agent_differences_add_up_to_the_reported_cost_change_to_the_fen(scored_db, multipliers):
    with ledger.Ledger(scored_db) as book:
        months = [scored.month(book, PERIOD), scored.month(book, "2026-10")]
    base = config.load(None, PERIOD)
    bands = tuple(band.model_copy(update={"multiplier": m}) for band, m in zip(base.pay.bands, multipliers))
    proposed = base.model_copy(update={"pay": base.pay.model_copy(update={"bands": bands})})
    comparison = whatif.compare(months, lambda period: proposed)
    assert sum((c.difference for c in comparison.agents), Decimal(0)) == comparison.total.difference
    for period, _, summary in comparison.months:
        assert sum((c.difference for c in comparison.agents if c.period == period), Decimal(0)) == summary.difference
    assert sum(s.pay_proposed for _, _, s in comparison.months) == comparison.total.pay_proposed
    assert comparison.total.difference == comparison.total.difference.quantize(Decimal("0.01"))


def test_personal_share_is_scored_in_the_proposed_team_context(db):
    comparison = compare(db, config.default_dir())
    with ledger.Ledger(db) as book:
        stored = scored.month(book, PERIOD)
    share = [c for c in comparison.agents if c.agent_id == "KF1008"][0]
    assert share.total_now == share.total_proposed == Decimal(stored.results["KF1008"]["total"]) == 75


# ------------------------------------------------------------------ the command
def test_whatif_prints_the_summary_and_writes_nothing_to_the_ledger(db, tmp_path):
    folder = only(tmp_path, "pay_bands.toml", 'multiplier = "0.9"', 'multiplier = "1.0"')
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    result = run("whatif", "--rules", folder, "--period", PERIOD, "--db", db)
    assert result.exit_code == 0, result.output
    assert "2026-09 第 1 版     25 人  工资合计 ¥121,870.00 → ¥122,890.00  +1,020.00(+0.84%)" in result.output
    assert "工资增加 6 人次,减少 0 人次,不变 19 人次" in result.output
    assert "KF1005 陈静(售前一组):总分 92 → 92" in result.output
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_whatif_over_a_range_of_months_in_english(db, tmp_path):
    folder = only(tmp_path, "pay_bands.toml", 'multiplier = "0.9"', 'multiplier = "1.0"')
    result = run("whatif", "--rules", folder, "--from", PERIOD, "--to", "2026-10", "--db", db, "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "Total 50 agent-months: payroll ¥243,740.00 → ¥245,780.00, +2,040.00 (+0.84%)" in result.output
    assert "  2026-10 rev 1     25 agents" in result.output


def test_whatif_json_document(db, tmp_path):
    folder = only(tmp_path, "pay_bands.toml", 'multiplier = "0.9"', 'multiplier = "1.0"')
    result = run("whatif", "--rules", folder, "--period", PERIOD, "--db", db, "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["total"]["pay_now"] == "121870.00" and document["total"]["pay_proposed"] == "122890.00"
    assert len(document["agents"]) == 25
    agent = next(a for a in document["agents"] if a["agent_id"] == "KF1005")
    assert {k: agent[k] for k in ("period", "agent_id", "total_now", "total_proposed", "pay_now", "pay_proposed")} == {
        "period": PERIOD, "agent_id": "KF1005", "total_now": "92", "total_proposed": "92",
        "pay_now": "5220.00", "pay_proposed": "5400.00"}
    differences = sum(Decimal(a["pay_proposed"]) - Decimal(a["pay_now"]) for a in document["agents"])
    assert differences == Decimal(document["total"]["pay_proposed"]) - Decimal(document["total"]["pay_now"])


def test_whatif_workbook(db, tmp_path):
    folder = only(tmp_path, "weights.toml", 'max = "0.015"', 'max = "0.0155"')
    edit(folder / "weights.toml", 'min = "0.015"', 'min = "0.0155"')
    out = tmp_path / "whatif.xlsx"
    result = run("whatif", "--rules", folder, "--period", PERIOD, "--db", db, "--out", out)
    assert result.exit_code == 0, result.output
    assert f"已写入:{out}" in result.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["汇总", "每人明细", "变动项目", "图表"]
    agents = book["每人明细"]
    assert agents.auto_filter.ref == "A1:Q26" and agents.freeze_panes == "C2"
    assert [c.value for c in agents[1]][:2] == ["月份", "工号"] and agents.conditional_formatting
    rows = {row[1]: row for row in agents.iter_rows(min_row=2, values_only=True)}
    assert rows["KF1005"][5:7] == (92, 90) and rows["KF1005"][11:14] == (5220, 5220, 0)  # still 90~100
    items = list(book["变动项目"].iter_rows(min_row=2, values_only=True))
    assert sorted(r[1] for r in items) == ["KF1005", "KF1017"] and all(r[3] == "转化率" for r in items)
    summary = book["汇总"]
    assert [c.value for c in summary[4]][:6] == [PERIOD, 1, 25, 121870, 121870, 0]
    assert [c.value for c in summary[5]][:3] == ["合计", None, 25]
    with zipfile.ZipFile(out) as package:  # openpyxl drops charts on reading: the package holds them
        charts = [package.read(n).decode() for n in sorted(package.namelist()) if n.startswith("xl/charts/chart")]
    assert len(charts) == 2 and all("<c:barChart>" in chart for chart in charts)
    assert "得分档人数:现行与方案" in charts[0] and "工资变化分布" in charts[1]


def test_a_broken_proposal_is_reported_whole_with_file_and_key(db, tmp_path):
    folder = only(tmp_path, "pay_bands.toml", 'multiplier = "0.9"', 'multiplier = "-1"')
    edit(folder / "pay_bands.toml", 'mode = "ROUND_HALF_UP"', 'mode = "ROUND_SOMETIMES"')
    (folder / "weights.toml").write_text('[[version]]\neffective = "2027-01"\ntitle = "x"\n', encoding="utf-8")
    result = run("whatif", "--rules", folder, "--period", PERIOD, "--db", db)
    assert result.exit_code == 1
    assert "方案有" in result.output and "未做任何测算或写入" in result.output
    assert "pay_bands.toml: version[effective=2020-01].rounding.mode: unknown rounding mode 'ROUND_SOMETIMES'" in result.output
    assert "pay_bands.toml: version[effective=2020-01].bands[4].multiplier" in result.output
    assert "weights.toml: version[effective=2027-01].title: " in result.output
    assert "weights.toml: version[effective=2027-01].items: this key is required but missing" in result.output
    assert "Traceback" not in result.output


def test_a_stray_file_in_a_proposal_is_an_error(db, tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "weight.toml").write_text("", encoding="utf-8")
    result = run("whatif", "--rules", folder, "--period", PERIOD, "--db", db)
    assert result.exit_code == 1 and "weight.toml: (file): not a config file" in result.output


def test_whatif_usage_and_ledger_errors(db, tmp_path):
    folder = config.default_dir()
    assert run("whatif", "--rules", folder, "--db", db).exit_code == 2
    assert run("whatif", "--rules", folder, "--from", PERIOD, "--db", db).exit_code == 2
    assert run("whatif", "--rules", folder, "--period", "2026-13", "--db", db).exit_code == 2
    assert run("whatif", "--rules", folder, "--period", PERIOD, "--db", db, "--out", tmp_path / "x.csv").exit_code == 2
    unscored = run("whatif", "--rules", folder, "--period", "2026-11", "--db", db)
    assert unscored.exit_code == 1 and "台账中还没有 2026-11 的评分" in unscored.output
    missing = run("whatif", "--rules", folder, "--period", PERIOD, "--db", tmp_path / "none.db")
    assert missing.exit_code == 1 and "不存在" in missing.output and not (tmp_path / "none.db").exists()


def test_a_proposal_without_a_level_in_use_is_refused(db, tmp_path):
    folder = only(tmp_path, "pay_bands.toml", 'id = "P1"', 'id = "Q1"')
    result = run("whatif", "--rules", folder, "--period", PERIOD, "--db", db)
    assert result.exit_code == 1 and "级别 P1" in result.output


# ------------------------------------------------------------------ rules --diff
def test_rules_diff_names_what_changes_in_the_tables_words(tmp_path):
    folder = only(tmp_path, "pay_bands.toml", 'multiplier = "0.9"', 'multiplier = "1.0"')
    edit(folder / "pay_bands.toml", 'base_pay = "2800"', 'base_pay = "3000"')
    result = run("rules", "--rules", folder, "--diff", "--period", PERIOD)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"方案 {folder} 与 2026-09 适用的现行规则相比,有 2 处不同:",
        "  90(含)~100分 · 系数:0.9 → 1",
        "  P1 初级客服 · 级别工资:2,800.00 → 3,000.00"]
    weights = only(tmp_path, "weights.toml", 'weight = "30"', 'weight = "25"')
    edit(weights / "weights.toml", 'total = "100"', 'total = "95"')
    english = run("rules", "--rules", weights, "--diff", "--period", PERIOD, "--lang", "en")
    assert "  Assessment table · total: 100 → 95" in english.output
    assert "  Sales completion · weight / maximum: 30 → 25" in english.output


def test_rules_diff_of_the_rules_in_force_is_empty_and_needs_rules():
    same = run("rules", "--rules", config.default_dir(), "--diff", "--period", PERIOD)
    assert same.exit_code == 0 and "相同" in same.output
    assert run("rules", "--diff", "--period", PERIOD).exit_code == 2


# ------------------------------------------------------------------ adopt
def test_adopt_appends_a_dated_version_and_records_it(db, tmp_path, monkeypatch):
    monkeypatch.setenv("KPI_TODAY", "2026-10-20")
    target = copy_config(tmp_path)
    folder = only(tmp_path, "pay_bands.toml", 'multiplier = "0.9"', 'multiplier = "1.0"')
    refused = run("adopt", folder, "--from", "2026-10", "--config", target, "--db", db)
    assert refused.exit_code == 1 and "2026-10 已评分" in refused.output
    assert (target / "pay_bands.toml").read_text(encoding="utf-8") == \
           (config.default_dir() / "pay_bands.toml").read_text(encoding="utf-8")
    result = run("adopt", folder, "--from", "2027-01", "--config", target, "--db", db)
    assert result.exit_code == 0, result.output
    assert "自 2027-01 起生效" in result.output
    assert "本次修订属于 2026-09 考核期:方案修订截止 2026-10-27 周二(考核期结束后第 15 个工作日),按期。" in result.output
    assert config.load(target, "2026-12").pay.bands[4].multiplier == Decimal("0.9")
    assert config.load(target, "2027-01").pay.bands[4].multiplier == Decimal("1.0")
    assert config.load(target, "2027-01").version.pay_bands_effective == "2027-01"
    with ledger.Ledger(db) as book:
        (entry,) = proposal.adoptions(book, "2026-09")
    assert entry["effective"] == "2027-01" and entry["files"] == ["pay_bands.toml"] and entry["who"] == ledger.user()
    assert entry["proposal"] == str(folder.resolve())
    again = run("adopt", folder, "--from", "2027-01", "--config", target, "--db", db)
    assert again.exit_code == 1 and "已有自 2027-01 起生效的版本" in again.output
    timeline = run("timeline", "2026-09", "--config", target, "--db", db)
    lines = timeline.output.splitlines()
    at = next(i for i, text in enumerate(lines) if "方案修订截止" in text)
    assert lines[at:at + 2] == [
        "  2026-10-27 周二  考核期结束后第 15 个工作日     方案修订截止(如获批准)",
        f"  已采纳方案修订:自 2027-01 起生效(2026-10-20 由 {ledger.user()} 采纳,按期)"]
    document = json.loads(run("timeline", "2026-09", "--config", target, "--db", db, "--format", "json").output)
    assert document["revisions_adopted"][0]["effective"] == "2027-01"


def test_adopt_refuses_undated_changes_and_needs_config_for_the_packaged_one(db, tmp_path, monkeypatch):
    target = copy_config(tmp_path)
    folder = only(tmp_path, "fields.toml", "[[fields]]", "[[fields]]")
    edit(folder / "fields.toml", 'id = "name"', 'id = "name"\naliases = ["名字"]')
    result = run("adopt", folder, "--from", "2027-01", "--config", target, "--db", db)
    assert result.exit_code == 1 and "fields.toml" in result.output
    monkeypatch.setattr(proposal, "shipped_in_package", lambda folder: True)
    assert run("adopt", folder, "--from", "2027-01", "--db", db).exit_code == 2


# ------------------------------------------------------------------ the cases as data
CASES = sorted((Path(__file__).resolve().parent / "cases" / "whatif").glob("*.toml"))


@pytest.mark.parametrize("case_file", CASES, ids=lambda path: path.stem)
def test_whatif_case(case_file, db, tmp_path):
    """tests/cases/whatif/*.toml: a proposal made by editing the shipped files, and exactly which
    agents it moves (items, totals, bands, pay, recommendations) and what rules --diff says."""
    from kpi.core import rulediff
    from kpi.render import whatif as whatif_render

    with open(case_file, "rb") as handle:
        case = tomllib.load(handle)
    folder = tmp_path / "proposal"
    folder.mkdir()
    for name in case["files"]:
        shutil.copy(config.default_dir() / name, folder / name)
    for change in case.get("edit", []):
        edit(folder / change["file"], change["old"], change["new"])
    comparison = compare(db, folder, case["periods"])
    expect = case["expect"]
    assert {c.agent_id: [i.item_id for i in c.items] for c in comparison.agents if c.items} == expect["items_moved"]
    assert sorted(c.agent_id for c in comparison.agents if c.band_now != c.band_proposed) == expect["bands_moved"]
    assert {c.agent_id: numbers.plain(c.total_proposed) for c in comparison.agents
            if c.total_now != c.total_proposed} == expect["totals"]
    assert {c.agent_id: numbers.money(c.difference) for c in comparison.agents if c.difference} == expect["pay"]
    assert sorted(c.agent_id for c in comparison.agents if c.level_changed) == expect["level_changes"]
    listed = set(expect["items_moved"]) | set(expect["bands_moved"]) | set(expect["totals"]) | set(expect["pay"])
    assert {c.agent_id for c in comparison.agents if c.changed} == listed | set(expect["level_changes"])
    assert numbers.money(comparison.total.difference) == expect["cost_change"]
    assert sum((c.difference for c in comparison.agents), Decimal(0)) == comparison.total.difference
    now = config.load(None, case["periods"][0])
    proposed = proposal.ruleset(proposal.read(folder), None, case["periods"][0])
    assert whatif_render.diff_lines(rulediff.differences(now, proposed), "p", case["periods"][0], "zh")[1:] == case["diff"]


def test_a_proposal_reading_an_input_the_months_lack_is_refused(db, tmp_path):
    folder = only(tmp_path, "weights.toml", 'total = "100"', 'total = "105"')
    with open(folder / "weights.toml", "a", encoding="utf-8") as handle:
        handle.write('\n[[version.items]]\nid = "teamwork"\ngroup = "qualitative"\nkind = "judgement"\n'
                     'label = { zh = "团队协作", en = "Teamwork" }\nmax = "5"\n')
    result = run("whatif", "--rules", folder, "--period", PERIOD, "--db", db)
    assert result.exit_code == 1
    assert result.output == ("2026-09 的已存输入中没有方案项目“团队协作”要读取的 teamwork:"
                             "已评分的月份无法按此方案重新评分。\n")


@pytest.mark.parametrize("module", ["whatif", "rulediff"])
def test_the_comparison_core_imports_no_io_library(module):
    """kpi.core.whatif and kpi.core.rulediff return records for any renderer (terminal, JSON, xlsx, a web page)."""
    import ast

    from helpers import ROOT
    tree = ast.parse((ROOT / "kpi" / "core" / f"{module}.py").read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not imported & {"click", "openpyxl", "xlsxwriter", "sqlite3", "csv", "msoffcrypto", "tomlkit"}
    from_kpi = {f"{node.module}.{alias.name}" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    assert from_kpi and not {"kpi.ledger.db", "kpi.ledger.revisions", "kpi.ledger.answers", "kpi.ledger.closing", "kpi.io.config", "kpi.io.proposal", "kpi.pipeline.scored"} & from_kpi


def test_a_band_boundary_change_lists_the_recommendations_that_change(db, tmp_path):
    folder = only(tmp_path, "pay_bands.toml", 'max = "90"', 'max = "92"')
    edit(folder / "pay_bands.toml", 'min = "90"', 'min = "92"')
    result = run("whatif", "--rules", folder, "--period", PERIOD, "--db", db)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[lines.index("级别调整建议有变化:1 人次") + 1] == "  建议升1级或不变 → 建议不变:1 人次"
    assert "    级别调整建议:建议升1级或不变 → 建议不变" in lines
    document = json.loads(run("whatif", "--rules", folder, "--period", PERIOD, "--db", db, "--format", "json").output)
    (move,) = document["total"]["level_moves"]
    assert (move["now"]["value"], move["proposed"]["value"], move["agents"]) == ("+1|0", "0", 1)
    out = tmp_path / "w.xlsx"
    assert run("whatif", "--rules", folder, "--period", PERIOD, "--db", db, "--out", out).exit_code == 0
    cells = [[c.value for c in row] for row in openpyxl.load_workbook(out)["汇总"].iter_rows()]
    assert ["建议升1级或不变", "建议不变", 1] in [row[:3] for row in cells]
