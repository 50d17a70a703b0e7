"""Issue 22: a year the calendar package does not know: festivals estimated, marked 预估, until HR records the notice."""

from __future__ import annotations

import datetime
import json

import openpyxl
import pytest

from helpers import run
from helpers import EXAMPLE_CSV, copy_config, ruleset
from kpi.core import calendar
from kpi.io import config

D = datetime.date
NOTICE = '''
[[statutory_notices]]
year = 2027
source = "国务院办公厅关于2027年部分节假日安排的通知(测试用)"
published = 2026-11-01
days_off = [2027-01-01, 2027-02-05, 2027-02-06, 2027-02-07, 2027-02-08, 2027-02-09, 2027-02-10, 2027-02-11]
working_days = [2027-01-30]
'''


@pytest.fixture(autouse=True)
def package_knows_2026_only(monkeypatch):
    """Whatever chinesecalendar is installed: it knows 2026, not 2027 (as in December 2026)."""
    real = calendar.statutory_known
    monkeypatch.setattr(calendar, "statutory_known", lambda year: year <= 2026 and real(year))



def noticed(tmp_path):
    folder = copy_config(tmp_path)
    with open(folder / "calendar.toml", "a", encoding="utf-8") as handle:
        handle.write(NOTICE)
    return folder


def test_festivals_of_an_unknown_year_come_from_the_holidays_package():
    line = calendar.for_rules(ruleset("2027-01"))
    # 1–3 Feb are working days; 5 Feb (除夕) to 10 Feb are 春节 by python-holidays: the 5th working day is 11 Feb
    assert line.date("supervisor_submit") == D(2027, 2, 3)
    assert line.date("agent_confirm_start") == D(2027, 2, 11)
    assert line.unknown_years == (2027,)
    sources = {year: (kind, what) for year, kind, what in line.sources}
    assert sources[2027][0] == "estimate" and sources[2027][1].startswith("holidays ")


def test_every_estimated_date_is_marked_on_the_terminal_and_in_json():
    text = run("timeline", "2026-12")
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert "警告:法定节假日数据尚不包含 2027 年" in text.stderr
    assert lines[1].startswith("  2026-11-30 周一  ")                         # counted in 2026 only: no mark
    assert lines[4].startswith("  2027-01-12 周二(预估)  ")
    assert "2027 年的法定节假日:预估(holidays " in text.output
    assert lines[-2].startswith("2026 年的法定节假日与调休:chinesecalendar ")
    doc = json.loads(run("timeline", "2026-12", "--format", "json").stdout)
    assert "issue_sheets" not in doc["estimated"] and "confirm_deadline" in doc["estimated"]
    assert doc["sources"]["2027"]["kind"] == "estimate" and doc["sources"]["2026"]["kind"] == "package"
    english = run("timeline", "2026-12", "--lang", "en").stdout.splitlines()
    assert english[4].startswith("  2027-01-12 Tue (estimate)")


def test_scorecards_payroll_status_and_the_template_mark_the_estimate(tmp_path):
    assert run("score", EXAMPLE_CSV, "--period", "2026-12", "--out", "out").exit_code == 0
    card = next((tmp_path / "out" / "scorecards").rglob("KF1001-*.xlsx"))
    texts = [c.value for row in openpyxl.load_workbook(card).active.iter_rows() for c in row if isinstance(c.value, str)]
    assert any("请于 2027-01-12(预估) 前确认或提出异议" in t for t in texts)
    payroll = openpyxl.load_workbook(tmp_path / "out" / "payroll-2026-12.xlsx").active
    assert "汇总统计 2027-01-13(预估);提交人力资源部/财务部 2027-01-15(预估)" in payroll["A2"].value
    status = run("status", "2026-12", KPI_TODAY="2027-01-05").output.splitlines()[0]
    assert "确认截止 2027-01-12(预估)" in status
    roster = tmp_path / "roster.csv"
    roster.write_text("工号,姓名,组别,级别\nKF1,甲,一组,P1\n", encoding="utf-8")
    assert run("template", "--period", "2026-12", "--roster", roster, "-o", tmp_path / "t.xlsx").exit_code == 0
    notes = [r[0] for r in openpyxl.load_workbook(tmp_path / "t.xlsx")["说明"].iter_rows(values_only=True) if r[0]]
    assert any(line.startswith("  2027-01-12 周二(预估)") for line in notes)


def test_a_recorded_notice_decides_and_the_mark_disappears(tmp_path):
    folder = noticed(tmp_path)
    line = calendar.for_rules(config.load(folder, "2027-01"))
    assert line.unknown_years == ()
    # 1, 2, 3, 4 Feb work; 5–11 Feb off by the notice: the 5th working day is 12 Feb
    assert line.date("agent_confirm_start") == D(2027, 2, 12)
    december = calendar.for_rules(config.load(folder, "2026-12"))
    assert december.unknown_years == ()
    # 1 Jan off, Saturday 30 Jan worked (调休) by the notice
    assert calendar.company(config.load(folder, "2026-12").overrides).is_workday(D(2027, 1, 30))
    result = run("timeline", "2026-12", "--config", folder)
    assert "预估" not in result.output and "警告" not in result.output
    assert "2027 年的法定节假日与调休:calendar.toml 记录的《国务院办公厅关于2027年部分节假日安排的通知(测试用)》。" \
        in result.output.splitlines()


@pytest.mark.parametrize("entry, where", [
    ('[[statutory_notices]]\nyear = 2027\nsource = ""\ndays_off = [2027-01-01]\n', "source"),
    ('[[statutory_notices]]\nyear = 2027\nsource = "x"\ndays_off = [2028-01-01]\n', "statutory_notices"),
    ('[[statutory_notices]]\nyear = 2027\nsource = "x"\ndays_off = [2027-01-01]\nworking_days = [2027-01-01]\n',
     "statutory_notices"),
    ('[[statutory_notices]]\nyear = 2027\nsource = "x"\ndays_off = [2027-01-01]\nholiday = 1\n', "holiday"),
])
def test_a_wrong_notice_is_a_config_error(tmp_path, entry, where):
    folder = copy_config(tmp_path)
    with open(folder / "calendar.toml", "a", encoding="utf-8") as handle:
        handle.write("\n" + entry)
    result = run("timeline", "2026-12", "--config", folder)
    assert result.exit_code == 1 and "calendar.toml" in result.output and where in result.output
