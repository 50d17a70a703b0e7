"""Working days and the month's review timeline.

A day is a working day by the PRC statutory calendar (holidays and 调休
working weekends, from the maintained ``chinesecalendar`` package), then by the
company's overrides. For a year the package does not know, the State Council's
notice HR recorded in calendar.toml (``[[statutory_notices]]``: days off, 调休
working days, its title) decides; without one, the dates are estimates (预估):
Monday to Friday less the fixed-date holidays of the config and the festival
dates the maintained ``holidays`` package computes (春节, 清明, 端午, 中秋), with
no 调休 working weekend, and every output marks them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import NamedTuple

import functools
from importlib import metadata

import chinese_calendar
import holidays

from kpi.core import rules
from kpi.core.period import Period

PACKAGE, NOTICE, ESTIMATE, WEEKDAYS = "package", "notice", "estimate", "weekdays"   # where a year's dates come from


class Calendar(NamedTuple):
    """The company's working calendar: statutory days plus overrides."""

    days_off: frozenset[datetime.date] = frozenset()
    working_days: frozenset[datetime.date] = frozenset()
    fixed_holidays: frozenset[str] = frozenset()  # "MM-DD", for years the package does not know
    notices: tuple[rules.StatutoryNotice, ...] = ()   # recorded State Council notices
    estimate: bool = False     # for an unknown year without notice, take festivals from `holidays`

    def is_workday(self, day: datetime.date) -> bool:
        """Whether ``day`` is a working day (overrides win over the statute)."""
        if day in self.working_days:
            return True
        if day in self.days_off:
            return False
        notice = self.notice(day.year)
        if notice is not None:
            return day in notice.working_days or (day.weekday() < 5 and day not in notice.days_off)
        if statutory_known(day.year):
            return chinese_calendar.is_workday(day)
        if self.estimate and day in festivals(day.year):
            return False
        return day.weekday() < 5 and f"{day:%m-%d}" not in self.fixed_holidays

    def notice(self, year: int) -> rules.StatutoryNotice | None:
        return next((n for n in self.notices if n.year == year), None)

    def source(self, year: int) -> tuple[str, str]:
        """Where ``year``'s statutory dates come from: (kind, what), kind one of
        package, notice (what: its title), estimate (预估, from the holidays package) or weekdays."""
        notice = self.notice(year)
        if notice is not None:
            return NOTICE, notice.source
        if statutory_known(year):
            return PACKAGE, f"chinesecalendar {_version('chinesecalendar')}"
        if self.estimate:
            return ESTIMATE, f"holidays {_version('holidays')}"
        return WEEKDAYS, ""


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return ""


@functools.lru_cache(maxsize=16)
def festivals(year: int) -> frozenset[datetime.date]:
    """The PRC public holidays of ``year`` as the maintained ``holidays`` package computes them
    (lunar festivals included, its own observed days): an estimate until the notice is out."""
    return frozenset(holidays.China(years=year))


def company(overrides: rules.CalendarOverrides) -> Calendar:
    """The calendar of a company's config: its overrides, the fixed-date holidays, the recorded
    State Council notices, and estimated festivals for a year nothing covers yet."""
    return Calendar(overrides.extra_days_off, overrides.extra_working_days, overrides.fixed_holidays,
                    overrides.statutory_notices, estimate=True)


def for_rules(ruleset: rules.Ruleset) -> Timeline:
    """The timeline of the ruleset's month, by its steps and overrides."""
    return Period(ruleset.period).timeline(ruleset.timeline, ruleset.overrides)


class CalendarRules(NamedTuple):
    """The calendar config in force for a month (calendar.toml): the timeline's steps and the
    company's overrides and recorded notices. All a timeline needs, none of the scoring rules."""

    timeline: rules.CalendarVersion
    overrides: rules.CalendarOverrides


def for_calendar(period: str, config: CalendarRules) -> Timeline:
    """The timeline of ``period`` from the calendar config alone: what ``kpi timeline`` needs."""
    return Period(period).timeline(config.timeline, config.overrides)


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
    """The review timeline of a month; ``unknown_years``: years whose dates are estimates (预估:
    no package data, no recorded notice); ``sources``: (year, kind, what) for every year it touches."""

    period: Period
    steps: tuple[Step, ...]
    unknown_years: tuple[int, ...]
    sources: tuple[tuple[int, str, str], ...] = ()

    def date(self, step_id: str) -> datetime.date:
        return next(step.date for step in self.steps if step.id == step_id)

    def estimated(self, day: datetime.date) -> bool:
        """Whether ``day`` was counted on an estimated calendar (to be marked 预估).

        A step's date depends on every day counted between the month and it: it is an estimate
        when one of those days lies in an estimated year."""
        first, last = month_bounds(self.period)
        if day < first:
            span = range(day.year, (first - datetime.timedelta(days=1)).year + 1)
        elif day > last:
            span = range((last + datetime.timedelta(days=1)).year, day.year + 1)
        else:
            span = range(day.year, day.year + 1)
        return any(year in self.unknown_years for year in span)


def month_bounds(period: str) -> tuple[datetime.date, datetime.date]:
    """First and last day of a YYYY-MM month."""
    month = Period(period)
    return month.first_day, month.last_day


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
    period = Period(period)
    first, last = period.first_day, period.last_day
    dated = tuple(Step(s.id, s.label, s.working_day,
                       nth_working_day(calendar, first if s.working_day < 0 else last, s.working_day))
                  for s in steps)
    years = sorted({first.year, last.year, *(step.date.year for step in dated)})
    sources = tuple((year, *calendar.source(year)) for year in years)
    return Timeline(period, dated, tuple(year for year, kind, _ in sources if kind in (ESTIMATE, WEEKDAYS)), sources)
