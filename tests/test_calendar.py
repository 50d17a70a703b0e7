"""Working days on the PRC statutory calendar, company overrides, the timeline."""

from __future__ import annotations

import datetime
import json

from click.testing import CliRunner

import cli
from helpers import copy_config, edit, ruleset
from kpi.core import calendar
from kpi.io import config

D = datetime.date


def test_rules_md_example_working_day_3_of_september_2026_is_saturday_10_october():
    line = calendar.for_rules(ruleset("2026-09"))
    assert line.date("supervisor_submit") == D(2026, 10, 10)
    assert line.unknown_years == ()


def test_the_whole_september_2026_timeline():
    line = calendar.for_rules(ruleset("2026-09"))
    assert {step.id: step.date for step in line.steps} == {
        "issue_sheets": D(2026, 8, 31), "supervisor_submit": D(2026, 10, 10),
        "agent_confirm_start": D(2026, 10, 13), "confirm_deadline": D(2026, 10, 15),
        "summary": D(2026, 10, 16), "hr_finance": D(2026, 10, 20), "revision_deadline": D(2026, 10, 27),
    }


def test_statutory_holidays_and_makeup_days():
    plain = calendar.Calendar()
    assert not plain.is_workday(D(2026, 10, 1))     # National Day
    assert plain.is_workday(D(2026, 10, 10))        # Saturday made a working day (调休)
    assert not plain.is_workday(D(2026, 9, 5))      # an ordinary Saturday
    assert plain.is_workday(D(2026, 9, 30))         # an ordinary Wednesday


def test_company_overrides_win(tmp_path):
    folder = copy_config(tmp_path)
    edit(folder / "calendar.toml", 'extra_days_off = []', 'extra_days_off = ["2026-10-09"]')
    edit(folder / "calendar.toml", 'extra_working_days = []', 'extra_working_days = [2026-10-11]')
    line = calendar.for_rules(config.load(folder, "2026-09"))
    # 8 Oct wd1, 9 Oct off, 10 Oct wd2, 11 Oct (Sunday, worked) wd3
    assert line.date("supervisor_submit") == D(2026, 10, 11)


def test_offsets_are_config(tmp_path):
    folder = copy_config(tmp_path)
    edit(folder / "calendar.toml", 'id = "supervisor_submit"\nworking_day = 3', 'id = "supervisor_submit"\nworking_day = 2')
    assert calendar.for_rules(config.load(folder, "2026-09")).date("supervisor_submit") == D(2026, 10, 9)


def test_an_unknown_year_falls_back_to_weekdays_less_fixed_holidays_with_a_warning(monkeypatch):
    monkeypatch.setattr(calendar, "statutory_known", lambda year: year <= 2026)
    line = calendar.for_rules(ruleset("2026-12"))
    assert line.unknown_years == (2027,)
    # 1 Jan 2027 (元旦) is a Friday: a day off by the config's fixed holidays, so 4, 5, 6 Jan
    assert line.date("supervisor_submit") == D(2027, 1, 6)


def test_fixed_holidays_stand_in_only_where_the_package_has_no_data(monkeypatch):
    fixed = calendar.company(ruleset("2026-09").overrides)
    assert not fixed.is_workday(D(2026, 10, 1))     # the package: National Day
    assert fixed.is_workday(D(2026, 10, 10))        # the package: a Saturday worked (调休)
    monkeypatch.setattr(calendar, "statutory_known", lambda year: year <= 2026)
    for day in (D(2027, 1, 1), D(2027, 10, 1), D(2028, 5, 1), D(2028, 5, 2)):
        assert not fixed.is_workday(day), day       # Fridays 1 Jan and 1 Oct 2027, Monday and Tuesday in May 2028
    assert fixed.is_workday(D(2027, 1, 4))          # the Monday after
    assert fixed.is_workday(D(2028, 5, 3))          # a Wednesday: not a fixed holiday
    assert calendar.Calendar().is_workday(D(2027, 1, 1))  # without the config's list: a Friday


def test_the_real_package_knows_2026_and_the_config_covers_new_year_2027():
    line = calendar.for_rules(ruleset("2026-12"))
    assert line.date("issue_sheets") == D(2026, 11, 30)
    # whether or not the installed chinesecalendar knows 2027: 1 Jan is 元旦 either way
    assert line.date("supervisor_submit") == D(2027, 1, 6)


def test_timeline_json_has_every_step():
    result = CliRunner().invoke(cli.main, ["timeline", "2026-09", "--format", "json"])
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert list(doc)[:8] == ["period", "issue_sheets", "supervisor_submit", "agent_confirm_start",
                             "confirm_deadline", "summary", "hr_finance", "revision_deadline"]
    assert doc["supervisor_submit"] == "2026-10-10"


def test_timeline_text_and_unknown_year_warning(monkeypatch):
    monkeypatch.setattr(calendar, "statutory_known", lambda year: year <= 2026)
    result = CliRunner().invoke(cli.main, ["timeline", "2026-12"])
    assert result.exit_code == 0
    assert "警告:法定节假日数据尚不包含 2027 年" in result.output
    result = CliRunner().invoke(cli.main, ["timeline", "2026-09"])
    assert "  2026-10-10 周六  考核期结束后第 3 个工作日      客服主管提交考核表" in result.output.splitlines()
