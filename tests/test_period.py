"""One period type (issue 21): a month parsed once into a value that knows its days, the month
before and its review timeline; ``kpi timeline`` needs only the calendar config."""

from __future__ import annotations

import datetime
import pickle
import re
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from helpers import ROOT, copy_config, edit, run
from kpi.core import calendar
from kpi.core.errors import PeriodError
from kpi.core.period import Period
from kpi.io import config

months = st.builds(Period.of, st.integers(1900, 2999), st.integers(1, 12))


def test_a_period_is_its_text_and_knows_its_month():
    september = Period("2026-09")
    assert september == "2026-09" and str(september) == "2026-09" and type(str(september)) is str
    assert hash(september) == hash("2026-09") and {"2026-09": 1}[september] == 1
    assert (september.year, september.month) == (2026, 9)
    assert (september.first_day, september.last_day) == (datetime.date(2026, 9, 1), datetime.date(2026, 9, 30))
    assert Period("2028-02").last_day == datetime.date(2028, 2, 29)
    assert Period("2026-01").previous == "2025-12" and Period("2026-12").next == "2027-01"
    assert Period("2026-11").until("2027-02") == ["2026-11", "2026-12", "2027-01", "2027-02"]
    assert Period("2026-11").until("2026-10") == []
    assert Period.containing(datetime.date(2026, 10, 31)) == "2026-10"
    assert Period(september) is september
    assert pickle.loads(pickle.dumps(september)) == september and type(pickle.loads(pickle.dumps(september))) is Period


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-9", "26-09", "2026/09", "2026-09 ", "2026-09\n", "",
                                  "２０２６-09", "0000-01", "0001-01", "9999-12", "9999-01"])
def test_anything_but_a_yyyy_mm_month_is_refused(text):
    with pytest.raises(PeriodError) as caught:
        Period(text)
    assert caught.value.code == "period_invalid" and isinstance(caught.value, ValueError)
    assert not Period.parses(text)


@pytest.mark.parametrize("typed", ["2026-09", "2026-9", "2026/09", "2026/9", "2026.9", "2026_09", "2026年9月",
                                   "2026 年 9 月", "2026年09月", "202609", " 2026-09 ", "２０２６-０９", "2026－09"])
def test_a_month_as_people_type_it(typed):
    assert Period.typed(typed) == "2026-09" and type(Period.typed(typed)) is Period


@pytest.mark.parametrize("typed", ["2026-13", "2026-0", "2026-009", "26-09", "2026", "九月", "2026-09-01", "20269",
                                   "9999-12", "0001-01", "", None, 202609])
def test_what_names_no_month_is_refused_when_typed_too(typed):
    with pytest.raises(PeriodError):
        Period.typed(typed)


def test_a_period_cannot_be_changed():
    with pytest.raises(AttributeError):
        Period("2026-09").year = 2027


@given(months)
def test_previous_and_next_undo_each_other(month):
    assert month.previous.next == month and month.next.previous == month
    assert month.previous.last_day + datetime.timedelta(days=1) == month.first_day


@given(months, months)
def test_periods_sort_as_their_months(a, b):
    assert (a < b) == (a.first_day < b.first_day) and (a == b) == (a.first_day == b.first_day)


@given(months, st.integers(-400, 400))
def test_shifting_counts_months(month, shift):
    moved = month.shifted(shift)
    assert (moved.year * 12 + moved.month) - (month.year * 12 + month.month) == shift


def test_the_timeline_of_a_period_is_the_ruleset_timeline():
    ruleset = config.load(None, "2026-09")
    assert isinstance(ruleset.period, Period)
    assert Period("2026-09").timeline(ruleset.timeline, ruleset.overrides) == calendar.for_rules(ruleset)
    assert calendar.for_calendar("2026-09", config.load_calendar(None, "2026-09")) == calendar.for_rules(ruleset)


def test_no_ad_hoc_period_parsing_is_left():
    """Months are computed by Period alone: no strptime/strftime of "%Y-%m", no month arithmetic
    with relativedelta, no splitting of a period's text."""
    pattern = re.compile(r'"%Y-%m"|relativedelta\(months|period\[:4\]|period\.split\("-"\)')
    sources = [ROOT / "cli.py", *(ROOT / "kpi").rglob("*.py")]
    found = [f"{p.relative_to(ROOT)}:{n}" for p in sources if p.name != "period.py"
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert found == []


@pytest.mark.parametrize("args", [("timeline", "2026-13"), ("status", "2026-9"), ("rules", "--period", "x"),
                                  ("whatif", "--rules", ".", "--from", "2026-00", "--to", "2026-02"),
                                  ("check", "in.csv", "--period", "2026/09")])
def test_a_bad_period_says_the_same_everywhere(args):
    result = run(*args)
    assert result.exit_code == 2
    assert "期间应为 YYYY-MM 格式,例如 2026-09。" in result.output


def test_the_timeline_needs_no_scoring_rules(tmp_path):
    """A broken weights.toml (and pay_bands.toml) stops scoring, not the timeline."""
    folder = copy_config(tmp_path)
    (folder / "weights.toml").write_text("[[version]\nbroken", encoding="utf-8")
    (folder / "pay_bands.toml").unlink()
    assert run("rules", "--period", "2026-09", "--config", folder).exit_code == 1
    result = run("timeline", "2026-09", "--config", folder, "--db", tmp_path / "none.db")
    assert result.exit_code == 0, result.output
    assert result.output == run("timeline", "2026-09", "--db", tmp_path / "none.db").output
    assert "2026-10-15 周四  考核期结束后第 7 个工作日" in result.output
    assert not (tmp_path / "none.db").exists()


def test_the_timeline_still_reports_every_calendar_fault_at_once(tmp_path):
    folder = copy_config(tmp_path)
    edit(folder / "calendar.toml", 'extra_days_off = []', 'extra_days_off = ["2026-02-30"]')
    edit(folder / "calendar.toml", 'working_day = 3', 'working_day = 0')
    result = run("timeline", "2026-09", "--config", folder)
    assert result.exit_code == 1
    assert result.output.startswith(f"配置错误: {Path(folder) / 'calendar.toml'}: ")
    assert "working_day counts from 1 after the month" in result.output
    assert f"{Path(folder) / 'calendar.toml'}: extra_days_off" in result.output


def test_the_last_month_a_text_may_name_has_a_timeline_and_the_year_after_it_is_refused(tmp_path):
    """9998-12's review runs into 9999; a month of 9999 (or 0001) has a neighbour no date holds:
    it is refused as a usage error, never an internal error (exit 70)."""
    assert Period("9998-12").next == "9999-01" and Period("0002-01").previous == "0001-12"
    last = run("timeline", "9998-12", "--db", tmp_path / "none.db", KPI_LANG="en")
    assert last.exit_code == 0, last.output
    assert "9999-01-" in last.output
    for text in ("9999-12", "9999-01", "0001-01"):
        refused = run("timeline", text, "--db", tmp_path / "none.db", KPI_LANG="en")
        assert refused.exit_code == 2 and "the period must be YYYY-MM" in refused.output, refused.output
    with pytest.raises(PeriodError):
        Period.of(9999, 12).next   # 10000-01
    with pytest.raises(PeriodError):
        Period.of(10000, 1)
