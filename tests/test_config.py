"""Config as dated, self-checking data: versions, changes without code, broken files."""

from __future__ import annotations

import re
from decimal import Decimal

import pydantic
import pytest

from helpers import agent, baseline, copy_config, edit, ruleset, run
from kpi.io import config
from kpi.core import i18n, scoring
from kpi.core.errors import ConfigError


def score_one(rules_, **fields):
    return scoring.score_month(rules_, [agent({**baseline(), **fields}, rules_)])[0]


def test_default_config_loads_with_its_version_and_hash():
    rules_ = ruleset("2026-09")
    assert rules_.version.weights_effective == "2020-01"
    assert rules_.version.pay_bands_effective == "2020-01"
    assert len(rules_.version.sha256) == 64
    assert sum(item.weight for item in rules_.weights.items) == Decimal(100)
    assert [item.id for item in rules_.weights.items][:8] == [
        "sales_completion", "sales_growth", "conversion", "featured_item", "refund_rate", "inquiries",
        "disputes", "personal_share"]


def test_models_are_frozen():
    rules_ = ruleset()
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        rules_.weights.items[0].weight = Decimal(99)
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        rules_.pay.bands[0].multiplier = Decimal(9)


def test_a_threshold_change_is_a_config_edit(tmp_path):
    folder = copy_config(tmp_path)
    before = score_one(config.load(folder, "2026-09"), deals="150")
    edit(folder / "weights.toml", 'max = "0.015"\npoints = "3"', 'max = "0.02"\npoints = "3"')
    edit(folder / "weights.toml", 'min = "0.015"\npoints = "5"', 'min = "0.02"\npoints = "5"')
    after_rules = config.load(folder, "2026-09")
    after = score_one(after_rules, deals="150")
    assert before.items[2].points == 5 and after.items[2].points == 3
    assert after_rules.version.sha256 != ruleset().version.sha256


def test_a_weight_change_and_a_new_tier_are_config_edits(tmp_path):
    folder = copy_config(tmp_path)
    edit(folder / "weights.toml", 'weight = "30"', 'weight = "29"')
    edit(folder / "weights.toml", 'id = "response_time"\ngroup = "qualitative"', 'id = "response_time"\ngroup = "qualitative"')
    edit(folder / "weights.toml", 'max = "8"\nincrement = "0.5"\nnote', 'max = "9"\nincrement = "0.5"\nnote')
    edit(folder / "weights.toml", '''[[version.items.tiers]]
min = "1.1"
min_inclusive = false
points = "32"''', '''[[version.items.tiers]]
min = "1.1"
min_inclusive = false
max = "1.5"
points = "32"
label = { zh = "高于110%", en = "above 110%" }
[[version.items.tiers]]
min = "1.5"
points = "35"''')
    rules_ = config.load(folder, "2026-09")
    assert score_one(rules_, sales_actual="150000").items[0].points == 35
    assert score_one(rules_, sales_actual="149999").items[0].points == 32


def test_a_later_version_applies_from_its_month_only(tmp_path):
    folder = copy_config(tmp_path)
    text = (folder / "pay_bands.toml").read_text(encoding="utf-8")
    newer = text[text.index("[[version]]"):].replace('effective = "2020-01"', 'effective = "2026-10"')
    newer = newer.replace('multiplier = "0.9"', 'multiplier = "1.0"')
    (folder / "pay_bands.toml").write_text(text + "\n" + newer, encoding="utf-8")
    september, october = config.load(folder, "2026-09"), config.load(folder, "2026-10")
    assert september.version.pay_bands_effective == "2020-01"
    assert october.version.pay_bands_effective == "2026-10"
    assert score_one(september).pay.multiplier == Decimal("0.9")
    assert score_one(october).pay.multiplier == Decimal("1.0")
    assert september.version.sha256 != october.version.sha256


def test_no_version_in_force_is_an_error():
    with pytest.raises(ConfigError, match="no version in force for 2019-12"):
        ruleset("2019-12")


BROKEN = [
    ("pay_bands.toml", 'min = "80"\nmax = "90"', 'min = "82"\nmax = "90"', "bands", "gap"),
    ("pay_bands.toml", 'min = "80"\nmax = "90"', 'min = "78"\nmax = "90"', "bands", "overlap"),
    ("pay_bands.toml", 'min = "90"\nmax = "100"', 'min = "90"\nmax = "100"\nmin_inclusive = false', "bands", "gap at 90"),
    ("weights.toml", 'min = "0.01"\nmax = "0.015"', 'min = "0.011"\nmax = "0.015"', "items[id=conversion].tiers",
     "gap"),
    ("weights.toml", 'max = "0.005"\npoints = "0"', 'max = "0.0051"\npoints = "0"', "items[id=conversion].tiers",
     "overlap"),
    ("weights.toml", 'kind = "tiered"\nmeasure = { kind = "ratio", numerator = "deals"',
     'kind = "stepped"\nmeasure = { kind = "ratio", numerator = "deals"', "items[id=conversion]", "'tiered', 'judgement'"),
    ("weights.toml", 'max = "3"\nincrement', 'increment', "items[id=work_summary].max", "missing"),
    ("weights.toml", 'label = { zh = "转化率", en = "Conversion" }', 'label = { zh = "转化率" }',
     "items[id=conversion].label.en", "missing"),
    ("weights.toml", 'weight = "5"\nkind = "tiered"\nmeasure = { kind = "ratio", numerator = "deals"',
     'weight = "6"\nkind = "tiered"\nmeasure = { kind = "ratio", numerator = "deals"', "version[effective=2020-01]",
     "add up to 101"),
    ("weights.toml", 'numerator = "deals"', 'numerator = "dealz"', "items[id=conversion].measure", "dealz"),
    ("pay_bands.toml", 'mode = "ROUND_HALF_UP"', 'mode = "HALF_UP"', "rounding.mode", "ROUND_HALF_EVEN"),
    ("pay_bands.toml", 'effective = "2020-01"', 'effective = "2020-13"', "effective", "pattern"),
    ("weights.toml", 'title = {', 'title = [', "(syntax)", "TOML"),
    ("calendar.toml", '"05-02"', '"2027-05-02"', "fixed_holidays", "pattern"),
    ("calendar.toml", '"05-02"', '"02-30"', "fixed_holidays", "day is out of range"),
    ("calendar.toml", "extra_days_off = []", 'extra_day_off = ["2026-10-23"]', "extra_day_off", "unknown key"),
]


@pytest.mark.parametrize("name, old, new, key, words", BROKEN, ids=[f"{b[0]}:{b[4]}" for b in BROKEN])
def test_broken_config_names_file_key_and_example(tmp_path, name, old, new, key, words):
    folder = copy_config(tmp_path)
    edit(folder / name, old, new)
    with pytest.raises(ConfigError) as caught:
        config.load(folder, "2026-09")
    error = caught.value
    assert error.file.endswith(name)
    assert key in error.key
    assert words in error.message
    if key != "(syntax)":
        assert "A correct example:" in error.render()


def test_unordered_tiers_are_named(tmp_path):
    folder = copy_config(tmp_path)
    path = folder / "weights.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index("[[version.items.tiers]]\nmin = \"0.8\"")
    middle = text.index("[[version.items.tiers]]\nmin = \"1\"\npoints = \"6\"")
    end = text.index("[[version.items]]", middle)
    path.write_text(text[:start] + text[middle:end] + text[start:middle] + text[end:], encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        config.load(folder, "2026-09")
    assert "items[id=featured_item].tiers" in caught.value.key
    assert "not in ascending order" in caught.value.message


def test_missing_config_file_is_named(tmp_path):
    folder = copy_config(tmp_path)
    (folder / "fields.toml").unlink()
    with pytest.raises(ConfigError, match="fields.toml"):
        config.load(folder, "2026-09")


def test_every_message_exists_in_both_languages():
    for key in i18n.keys():
        assert i18n.text(key, "zh", **_dummy()) and i18n.text(key, "en", **_dummy()), key
        assert i18n._catalogue()[key].keys() >= {"zh", "en"}, key


def _dummy():
    class Anything(dict):
        def __missing__(self, key):
            return "x"
    return Anything()


def test_an_item_cap_and_a_step_rounding_are_config_edits(tmp_path):
    folder = copy_config(tmp_path)
    edit(folder / "weights.toml", 'id = "sales_growth"\ngroup = "quantitative"',
         'id = "sales_growth"\ngroup = "quantitative"\ncap = "10"')
    edit(folder / "weights.toml", 'per_step = "-1", rounding = "ROUND_FLOOR"', 'per_step = "-1", rounding = "ROUND_CEILING"')
    rules_ = config.load(folder, "2026-09")
    result = score_one(rules_, sales_actual="96000", sales_last_month="60000")
    assert result.items[0].points == 29          # 4% below: one started step counts now
    assert result.items[1].points == 10          # 60% growth would be 20, capped at 10
    assert "capped" in result.items[1].notes
    default = score_one(ruleset(), sales_actual="96000", sales_last_month="60000")
    assert (default.items[0].points, default.items[1].points) == (30, 20)


def test_a_denominator_that_may_be_zero_needs_a_rule(tmp_path):
    folder = copy_config(tmp_path)
    edit(folder / "weights.toml", ', zero_denominator = "0" }\nmeasure_label = { zh = "退单率"', ' }\nmeasure_label = { zh = "退单率"')
    with pytest.raises(ConfigError) as caught:
        config.load(folder, "2026-09")
    assert "items[id=refund_rate].measure" in caught.value.key and "zero_denominator" in caught.value.message


def test_every_fault_of_every_file_is_reported_at_once(tmp_path):
    """Three faults in three files: one error names all three, so the user mends them in one go."""
    folder = copy_config(tmp_path)
    edit(folder / "calendar.toml", "extra_days_off = []", 'extra_day_off = ["2026-10-23"]')
    edit(folder / "pay_bands.toml", 'mode = "ROUND_HALF_UP"', 'mode = "HALF_UP"')
    edit(folder / "weights.toml", 'label = { zh = "转化率", en = "Conversion" }', 'label = { zh = "转化率" }')
    with pytest.raises(ConfigError) as caught:
        config.load(folder, "2026-09")
    keys = [fault.key for fault in caught.value.parts]
    assert any(key.endswith("rounding.mode") for key in keys)
    assert any(key.endswith("items[id=conversion].label.en") for key in keys)
    assert "extra_day_off" in keys
    assert len(keys) == 3
    text = caught.value.render()
    for file in ("calendar.toml", "pay_bands.toml", "weights.toml"):
        assert file in text


def test_a_misspelled_calendar_key_no_longer_leaves_the_day_a_working_day(tmp_path):
    from click.testing import CliRunner
    import cli
    folder = copy_config(tmp_path)
    edit(folder / "calendar.toml", "extra_days_off = []", 'extra_day_off = ["2026-10-23"]')
    result = CliRunner().invoke(cli.main, ["timeline", "2026-09", "--config", str(folder)])
    assert result.exit_code == 1
    assert "extra_day_off" in result.output and "unknown key" in result.output


@pytest.mark.parametrize("name, old, new, meant", [
    ("calendar.toml", "extra_days_off = []", 'extra_day_off = ["2026-10-23"]', "extra_days_off"),
    ("weights.toml", 'label = { zh = "转化率", en = "Conversion" }', 'lable = { zh = "转化率", en = "Conversion" }',
     "label"),
    ("pay_bands.toml", 'mode = "ROUND_HALF_UP"', 'mdoe = "ROUND_HALF_UP"', "mode"),
])
def test_a_misspelled_key_is_told_the_key_meant_and_its_example(tmp_path, name, old, new, meant):
    folder = copy_config(tmp_path)
    edit(folder / name, old, new)
    with pytest.raises(ConfigError) as caught:
        config.load(folder, "2026-09")
    unknown = [fault for fault in caught.value.parts if "unknown key" in fault.message]
    assert len(unknown) == 1, caught.value.render()
    assert unknown[0].message == f"unknown key (check its spelling); did you mean {meant}?"
    assert f"{meant} = " in unknown[0].render() or meant == "mode"   # the meant key's example (mode: rounding's)


def test_a_key_like_no_known_one_gets_no_guess(tmp_path):
    folder = copy_config(tmp_path)
    edit(folder / "calendar.toml", "extra_days_off = []", 'extra_days_off = []\ncompany_picnic = ["2026-10-23"]')
    with pytest.raises(ConfigError) as caught:
        config.load(folder, "2026-09")
    assert [fault.message for fault in caught.value.parts] == ["unknown key (check its spelling)"]


# ------------------------------------------------------------------ config faults in the reader's language
def _config_codes() -> set[str]:
    """Every config fault's message key the code names (RuleFault, ConfigError(code=…), describe's tables)."""
    from helpers import ROOT
    found = set()
    for path in [ROOT / "cli.py", *(ROOT / "kpi").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r"RuleFault\(\s*\"(config_[a-z_]+)\"", text))
        found |= set(re.findall(r"code=\"(config_[a-z_]+)\"", text))
        found |= set(re.findall(r"\"(config_[a-z_]+)\"", text)) if path.name == "config.py" else set()
    return found - {"config_problem", "config_example", "config_error", "config_problem_under"}


def test_every_config_fault_has_its_words_in_both_languages():
    """The English is the fault's own message (what the error's str() and logs say, what scripts
    match); the Chinese says it again under it."""
    codes = _config_codes()
    assert {"config_unknown_key_near", "config_gap", "config_weights_total", "config_not_toml",
            "config_not_number", "config_empty_proposal"} <= codes
    for code in sorted(codes):
        entry = i18n._catalogue()[code]
        assert entry["en"] == "{file}: {setting}: {message}", code
        assert entry["zh"].startswith("{file}: {setting}: {message}\n  即:"), code
        assert re.search(r"[\u4e00-\u9fff]", entry["zh"]), code


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_fault_of_a_broken_config_is_said_in_the_reader_s_language(tmp_path, lang):
    folder = copy_config(tmp_path)
    edit(folder / "pay_bands.toml", 'min = "80"\nmax = "90"', 'min = "85"\nmax = "90"')
    edit(folder / "calendar.toml", "[[version]]", 'extra_day_off = ["2026-10-23"]\n[[version]]')
    result = run("timeline", "2026-09", "--config", folder, "--lang", lang)
    assert result.exit_code == 1
    assert "calendar.toml: extra_day_off: unknown key (check its spelling); did you mean extra_days_off?" in result.output
    if lang == "zh":
        assert "  即:未知的键,请检查拼写;是否想写 extra_days_off?" in result.output
    else:
        assert not re.search(r"[\u4e00-\u9fff]", result.output)
    scored = run("rules", "--period", "2026-09", "--config", folder, "--lang", lang)
    assert "leave a gap between 80 and 85" in scored.output
    assert ("  即:bands[2] 与 bands[3] 在 80 到 85 之间留有空档" in scored.output) == (lang == "zh")


def test_a_rule_fault_keeps_its_english_for_logs_and_says_its_values():
    from kpi.core.errors import RuleFault
    fault = RuleFault("config_gap", "tiers[0] and tiers[1] leave a gap between 1 and 2", what="tiers", first=0,
                      second=1, low=Decimal("1"), high=2)
    assert isinstance(fault, ValueError) and str(fault) == "tiers[0] and tiers[1] leave a gap between 1 and 2"
    assert fault.params == (("what", "tiers"), ("first", "0"), ("second", "1"), ("low", "1"), ("high", "2"))
