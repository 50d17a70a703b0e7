"""A month under assessment ("2026-09"): parsed once, then passed as a value.

A :class:`Period` is a ``str`` ("YYYY-MM") that has been checked: it compares, hashes,
sorts, prints, binds into SQL and serialises exactly like the text it was parsed from (so
ledger rows, file names and JSON keep their bytes), and it knows its month: first and last
day, the month before and after, and the working-day review timeline. Parsing happens at
the edges (the command line's options, the web routes, the pipeline's entry points); a
text that is no month raises :class:`kpi.core.errors.PeriodError` there, nowhere else.

One difference from a plain str: orjson refuses a str subclass as a dict *key* (values are
fine); key such a dict by ``str(period)``.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from typing import TYPE_CHECKING

from kpi.core.errors import PeriodError

if TYPE_CHECKING:  # the calendar builds on Period; Period only hands it the month
    from kpi.core import calendar, rules

# ASCII digits (２０２６ is none), a year from 0002 to 9998: a month's neighbours and its review
# timeline, which runs into the next month, are dates too (the neighbours are made by Period.of)
PATTERN = re.compile(r"(?!0000|0001|9999)[0-9]{4}-(0[1-9]|1[0-2])", re.ASCII)


# how people type a month: 2026-9, 2026/09, 2026.9, 2026年9月, 202609 (a four-digit year first)
_TYPED = re.compile(r"([0-9]{4})\s*(?:[-/._]|年)\s*([0-9]{1,2})\s*月?|([0-9]{4})([0-9]{2})", re.ASCII)


class Period(str):
    """A checked "YYYY-MM" month; ``Period(text)`` refuses anything else with PeriodError."""

    __slots__ = ()

    def __new__(cls, text: str | Period) -> Period:
        if type(text) is cls:
            return text
        if not isinstance(text, str) or not PATTERN.fullmatch(text):
            raise PeriodError(text)
        return super().__new__(cls, text)

    @classmethod
    def of(cls, year: int, month: int) -> Period:
        """The period of ``month`` (1-12) in ``year`` (any year a date has: the neighbours of the
        months a text may name)."""
        if not (1 <= year <= 9999 and 1 <= month <= 12):
            raise PeriodError(f"{year:04d}-{month:02d}")
        return str.__new__(cls, f"{year:04d}-{month:02d}")

    @classmethod
    def typed(cls, text: object) -> Period:
        """The month a person typed (an option, a form's box): YYYY-MM, or 2026-9, 2026/09,
        2026.9, 2026年9月, 202609, full-width digits and spaces around included; PeriodError
        for anything else. The ledger, files and URLs keep only YYYY-MM."""
        if isinstance(text, str):
            folded = unicodedata.normalize("NFKC", text).strip()
            if PATTERN.fullmatch(folded):
                return cls(folded)
            found = _TYPED.fullmatch(folded)
            if found:
                year, month = (found.group(1), found.group(2)) if found.group(1) else (found.group(3), found.group(4))
                candidate = f"{year}-{int(month):02d}"
                if PATTERN.fullmatch(candidate):
                    return cls(candidate)
        raise PeriodError(text)

    @staticmethod
    def parses(text: object) -> bool:
        """Whether ``text`` is a YYYY-MM month (a form field, before it is parsed)."""
        return isinstance(text, str) and PATTERN.fullmatch(text) is not None

    @classmethod
    def containing(cls, day: datetime.date) -> Period:
        """The month ``day`` lies in."""
        return cls.of(day.year, day.month)

    @property
    def year(self) -> int:
        return int(self[:4])

    @property
    def month(self) -> int:
        return int(self[5:7])

    @property
    def first_day(self) -> datetime.date:
        return datetime.date(self.year, self.month, 1)

    @property
    def last_day(self) -> datetime.date:
        return self.next.first_day - datetime.timedelta(days=1)

    @property
    def previous(self) -> Period:
        """The month before (2026-01 → 2025-12)."""
        return self.shifted(-1)

    @property
    def next(self) -> Period:
        """The month after (2026-12 → 2027-01)."""
        return self.shifted(1)

    def shifted(self, months: int) -> Period:
        """The month ``months`` later (earlier when negative)."""
        index = self.year * 12 + self.month - 1 + months
        return Period.of(index // 12, index % 12 + 1)

    def until(self, last: str) -> list[Period]:
        """Every month from this one to ``last``, both included ([] when ``last`` is earlier)."""
        last, found, month = Period(last), [], self
        while month <= last:
            found.append(month)
            month = month.next
        return found

    def timeline(self, version: rules.CalendarVersion, overrides: rules.CalendarOverrides) -> calendar.Timeline:
        """The month's review timeline: every step of the calendar ``version`` in force dated on
        the working-day calendar of ``overrides`` (calendar.toml alone, none of the scoring rules)."""
        from kpi.core import calendar   # the calendar builds on Period: imported when first asked

        return calendar.timeline(self, calendar.company(overrides), version.steps)

    def __repr__(self) -> str:
        return f"Period({str.__repr__(self)})"
