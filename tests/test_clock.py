"""The review's "today" is the date in Beijing, wherever the server's clock is set."""

from __future__ import annotations

import datetime

import pytest

from kpi.io import clock

UTC = datetime.timezone.utc


@pytest.mark.parametrize("moment, beijing", [
    (datetime.datetime(2026, 10, 12, 15, 59, tzinfo=UTC), datetime.date(2026, 10, 12)),   # 23:59 in Beijing
    (datetime.datetime(2026, 10, 12, 16, 0, tzinfo=UTC), datetime.date(2026, 10, 13)),    # 00:00: a day later
    (datetime.datetime(2026, 12, 31, 18, 30, tzinfo=UTC), datetime.date(2027, 1, 1)),
    (datetime.datetime(2026, 10, 13, 2, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=-5))),
     datetime.date(2026, 10, 13)),                                                       # 15:00 in Beijing
])
def test_today_is_the_date_in_beijing(monkeypatch, moment, beijing):
    monkeypatch.delenv("KPI_TODAY", raising=False)
    assert clock.today(moment) == beijing


def test_kpi_today_fixes_the_date(monkeypatch):
    monkeypatch.setenv("KPI_TODAY", "2026-10-20")
    assert clock.today(datetime.datetime(2030, 1, 1, tzinfo=UTC)) == datetime.date(2026, 10, 20)


def test_the_command_line_and_the_workspace_ask_the_same_clock(monkeypatch, tmp_path):
    import cli
    from kpi.web import create_app

    monkeypatch.setenv("KPI_TODAY", "2026-10-14")
    app = create_app(tmp_path / "kpi.db")
    assert cli.today() == app.app.state.settings.today() == datetime.date(2026, 10, 14)
