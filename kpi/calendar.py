"""Working days and the month's review timeline.

A day is a working day by the PRC statutory calendar (holidays and 调休
working weekends, from the maintained ``chinesecalendar`` package), then by the
company's overrides. For a year the package does not know, Monday to Friday
stand in, less the statutory holidays that fall on the same date every year
(元旦, 劳动节, 国庆节, from the config), and the timeline carries a warning naming
the year: the holidays on lunar dates and the 调休 swaps are then unknown.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import NamedTuple

import chinese_calendar
from dateutil.relativedelta import relativedelta

from kpi import rules


class Calendar(NamedTuple):
    """The company's working calendar: statutory days plus overrides."""

    days_off: frozenset[datetime.date] = frozenset()
    working_days: frozenset[datetime.date] = frozenset()
    fixed_holidays: frozenset[str] = frozenset()  # "MM-DD", for years the package does not know

    def is_workday(self, day: datetime.date) -> bool:
        """Whether ``day`` is a working day (overrides win over the statute)."""
        if day in self.working_days:
            return True
        if day in self.days_off:
            return False
        if statutory_known(day.year):
            return chinese_calendar.is_workday(day)
        return day.weekday() < 5 and f"{day:%m-%d}" not in self.fixed_holidays


def company(overrides: rules.CalendarOverrides) -> Calendar:
    """The calendar of a company's config: its overrides, and the fixed-date holidays."""
    return Calendar(overrides.extra_days_off, overrides.extra_working_days, overrides.fixed_holidays)


def for_rules(ruleset: rules.Ruleset) -> Timeline:
    """The timeline of the ruleset's month, by its steps and overrides."""
    return timeline(ruleset.period, company(ruleset.overrides), ruleset.timeline.steps)


def statutory_known(year: int) -> bool:
    """Whether the statutory calendar package has data for ``year``."""
    try:
        chinese_calendar.is_workday(datetime.date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


class Step(NamedTuple):
    """One dated step of the timeline."""

    id: str
    label: rules.Label
    working_day: int
    date: datetime.date


class Timeline(NamedTuple):
    """The review timeline of a month; ``unknown_years`` fell back to weekdays."""

    period: str
    steps: tuple[Step, ...]
    unknown_years: tuple[int, ...]

    def date(self, step_id: str) -> datetime.date:
        return next(step.date for step in self.steps if step.id == step_id)


def month_bounds(period: str) -> tuple[datetime.date, datetime.date]:
    """First and last day of a YYYY-MM month."""
    first = datetime.datetime.strptime(period, "%Y-%m").date()
    return first, first + relativedelta(months=1, days=-1)


def working_days(calendar: Calendar, start: datetime.date, direction: int) -> Iterator[datetime.date]:
    """Working days strictly after (direction 1) or before (-1) ``start``."""
    day = start
    while True:
        day += datetime.timedelta(days=direction)
        if calendar.is_workday(day):
            yield day


def nth_working_day(calendar: Calendar, start: datetime.date, n: int) -> datetime.date:
    """The ``n``-th working day after ``start`` (n > 0) or before it (n < 0)."""
    days = working_days(calendar, start, 1 if n > 0 else -1)
    for _ in range(abs(n) - 1):
        next(days)
    return next(days)


def timeline(period: str, calendar: Calendar, steps: tuple[rules.TimelineStep, ...]) -> Timeline:
    """Every step's date for ``period``; negative steps count back from the month's start."""
    first, last = month_bounds(period)
    dated = tuple(Step(s.id, s.label, s.working_day,
                       nth_working_day(calendar, first if s.working_day < 0 else last, s.working_day))
                  for s in steps)
    years = {first.year, *(step.date.year for step in dated)}
    return Timeline(period, dated, tuple(sorted(y for y in years if not statutory_known(y))))
