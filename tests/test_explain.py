"""The explanation lines: their exact words for each kind of measure, labels taken literally,
and an explainer that remembers what it rendered gives what a fresh one gives."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import helpers
from kpi.core import explain, scoring
from kpi.pipeline import month

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import month_end  # noqa: E402  (the benchmark's synthetic month: every band, teams of all sizes)

NO_BASE = {"sales_last_month": "", "agent_id": "T002"}

LINES = [
    ("zh", "T001", "sales_completion",
     "完成率 = 实际销售额 100,000.00 ÷ 销售目标 100,000.00 = 100.00%;适用:100%至110%(含) → 得 30 分(标准 30 分)"),
    ("zh", "T001", "sales_growth", "增长率 = (实际销售额 100,000.00 − 上月销售额 100,000.00) ÷ 100,000.00 = 0.00%;"
     "适用:增长,每满5%加1分 → 得 8 分(标准 8 分)"),
    ("zh", "T002", "sales_growth", "增长率:无上月销售额(基期);适用:无上月销售额,按标准分计 → 得 8 分(标准 8 分)"),
    ("zh", "T001", "inquiries", "咨询量达标率(标准450个应答/月) = 咨询应答量 450 ÷ 标准 450 = 100.00%;"
     "适用:80%(含)以上,满分 → 得 5 分(标准 5 分)"),
    ("zh", "T001", "disputes", "因服务态度引起的纠纷数 = 0;适用:每起纠纷扣5分,扣完为止 → 得 5 分(标准 5 分)"),
    ("zh", "T001", "personal_share", "个人订单占团队订单比例 = 个人订单量 1000 ÷ 团队个人订单量合计 2000 = 50.00%"
     "(团队 2 人);适用:10%(含)以下(按团队人数调整),扣2分,按团队人数调整后区间 s ≤ 50.00% → 得 0 分(标准 2 分)"),
    ("zh", "T001", "operation_exam", "主管评分 3.5 分(满分 4 分)"),
    ("en", "T001", "conversion", "conversion = Buyers 200 ÷ Visitors 10000 = 2.00%; rule: 1.5% or more: full points "
     "→ 5 points (standard 5)"),
    ("en", "T002", "sales_growth", "growth: no base month; rule: no base month: standard points → 8 points (standard 8)"),
    ("en", "T001", "inquiries", "inquiries against the standard of 450 a month = Inquiries answered 450 ÷ standard 450 "
     "= 100.00%; rule: 80% or more: full points → 5 points (standard 5)"),
    ("en", "T001", "personal_share", "share of the team's orders = Orders 1000 ÷ team total of Orders 2000 = 50.00% "
     "(team of 2); rule: 10% or less (scaled to team size): 2 points off, bracket scaled to team size: s ≤ 50.00% "
     "→ 0 points (standard 2)"),
]


def _two_agents(ruleset):
    """The baseline agent and the same without last month's sales, in one team."""
    baseline = helpers.baseline()
    agents = [helpers.agent(baseline, ruleset), helpers.agent({**baseline, **NO_BASE}, ruleset)]
    return {result.agent.agent_id: result for result in scoring.score_month(ruleset, agents)}


@pytest.mark.parametrize("lang, agent_id, item_id, expected", LINES)
def test_each_kind_of_measure_reads_as_its_formula_then_its_rule(lang, agent_id, item_id, expected):
    ruleset = helpers.ruleset()
    record = next(r for r in _two_agents(ruleset)[agent_id].items if r.item_id == item_id)
    assert explain.Explainer(ruleset, lang).item(record) == expected


def test_braces_in_configured_labels_are_words_not_placeholders(tmp_path):
    config_dir = helpers.copy_config(tmp_path)
    helpers.edit(config_dir / "fields.toml", 'label = { zh = "实际销售额", en = "Sales" }',
                 'label = { zh = "实际销售额{含税}", en = "Sales {rate}" }')
    ruleset = helpers.ruleset(config_dir=config_dir)
    completion = _two_agents(ruleset)["T001"].items[0]
    assert explain.Explainer(ruleset, "zh").formula(completion).startswith("完成率 = 实际销售额{含税} 100,000.00 ÷ ")
    assert explain.Explainer(ruleset, "en").formula(completion).startswith("completion = Sales {rate} 100,000.00 ÷ ")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_month_through_one_explainer_reads_as_each_record_explained_afresh(tmp_path, lang):
    ruleset = helpers.ruleset()
    source = tmp_path / "month.xlsx"
    month_end.write_input(source, month_end.synthetic_rows(400))
    results = scoring.score_month(ruleset, month.validate(source, ruleset).agents)
    shared = explain.Explainer(ruleset, lang)
    lines = [shared.item(record) for result in results for record in result.items]
    assert lines == [explain.item(ruleset, record, lang) for result in results for record in result.items]
    assert len(set(lines)) > len(lines) // 4  # a varied month, not one line over and over


def test_an_agents_lines_in_both_languages_at_once_read_as_each_language_alone(tmp_path):
    ruleset = helpers.ruleset()
    source = tmp_path / "month.xlsx"
    month_end.write_input(source, month_end.synthetic_rows(400))
    results = scoring.score_month(ruleset, month.validate(source, ruleset).agents)
    results += tuple(_two_agents(ruleset).values())  # a growth without base month among them
    both = {lang: explain.Explainer(ruleset, lang) for lang in ("zh", "en")}
    for result in results:
        alone = {lang: {r.item_id: explain.item(ruleset, r, lang) for r in result.items} for lang in both}
        assert explain.texts(both, result) == alone
        assert explain.texts({"en": both["en"]}, result) == {"en": alone["en"]}
