"""Which sheet of a workbook holds the month's table (pure: names in, a choice out).

Shops keep one sheet per month (``7月``, ``8月``, ``9月``; ``2026-09``; ``Sep``),
add notes and summary sheets, hide old months. Reading the wrong sheet pays the
wrong figures, so the choice is made only when it is clear: the sheet named for
the period, else the fill-in sheet kpi's template makes (填报表), else the one
visible sheet that has a header row. A hidden sheet is never taken unless asked
for by name (``--sheet``); anything unclear is a problem that lists the sheets.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import NamedTuple

from kpi.core.errors import InputProblem

PREFERRED = ("填报表", "input", "Input")
_CN_MONTHS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
              "十": 10, "十一": 11, "十二": 12}
_EN_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_YEAR_MONTH = re.compile(r"(?<!\d)(\d{4}|\d{2})\s*(?:[-_./年]\s*)(\d{1,2})(?!\d)")
_COMPACT = re.compile(r"(?<!\d)(\d{4})(\d{2})(?!\d)")
_MONTH = re.compile(r"(?<!\d)(\d{1,2})\s*月")
_CN_MONTH = re.compile(r"(十[一二]?|[一二三四五六七八九])\s*月")
_EN_MONTH = re.compile(r"(?<![a-z])(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?![a-z])")
_YEAR = re.compile(r"(?<!\d)(20\d{2}|\d{2})(?!\d)")


class Sheet(NamedTuple):
    """A worksheet's name and whether Excel shows it."""

    name: str
    visible: bool = True


class Choice(NamedTuple):
    """The sheet to read, whether to say which (the workbook has others), or the problem."""

    name: str | None
    announce: bool = False
    problem: InputProblem | None = None


def month_of(name: str) -> tuple[int | None, int] | None:
    """(year or None, month) a sheet's name stands for, or None: ``9月`` → (None, 9),
    ``2026年9月`` and ``2026-09`` → (2026, 9), ``Sep 2026`` → (2026, 9)."""
    text = unicodedata.normalize("NFKC", name).strip().lower()
    for pattern in (_YEAR_MONTH, _COMPACT):
        found = pattern.search(text)
        if found and 1 <= int(found.group(2)) <= 12:
            return _year(found.group(1)), int(found.group(2))
    found = _MONTH.search(text)
    if found and 1 <= int(found.group(1)) <= 12:
        return None, int(found.group(1))
    found = _CN_MONTH.search(text)
    if found:
        return None, _CN_MONTHS[found.group(1)]
    found = _EN_MONTH.search(text)
    if found:
        rest = text[:found.start()] + " " + text[found.end():]
        year = _YEAR.search(rest)
        return (_year(year.group(1)) if year else None), _EN_MONTHS.index(found.group(1)) + 1
    return None


def _year(text: str) -> int:
    return int(text) + 2000 if len(text) == 2 else int(text)


def _folded(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().casefold()


def choose(sheets: Sequence[Sheet], period: str | None, requested: str | None,
           has_header: Callable[[str], bool], source: str) -> Choice:
    """The sheet of ``sheets`` that holds ``period``'s table (``YYYY-MM``).

    ``requested``: the name given with ``--sheet``; ``has_header(name)``: whether that
    sheet has a header row near its top (looked at only when the names do not decide);
    ``source``: the file name, where a problem about the whole workbook is located.
    """
    if not sheets:
        return Choice(None, problem=InputProblem("", "", source, "", "no_rows"))
    names = [sheet.name for sheet in sheets]
    listed = (("sheets", "、".join(names)),)
    if requested is not None:
        found = [s for s in sheets if s.name == requested] or [s for s in sheets if _folded(s.name) == _folded(requested)]
        if len(found) != 1:
            return Choice(None, problem=InputProblem("", "", source, requested, "sheet_not_found",
                                                     (("sheet", requested), *listed)))
        return Choice(found[0].name, announce=len(sheets) > 1)
    visible = [s for s in sheets if s.visible]
    if len(sheets) == 1 and visible:
        return Choice(visible[0].name)
    preferred = next((s for name in PREFERRED for s in visible if s.name == name), None)
    for_period = _for_period(sheets, period)
    shown = [s for s in for_period if s.visible]
    if shown:
        with_header = [s for s in shown if has_header(s.name)]
        if preferred is not None and preferred not in shown and with_header:
            return _unclear([preferred, *with_header], source)
        if preferred is not None and preferred not in shown:
            return Choice(preferred.name, announce=True)
        if len(shown) == 1:
            return Choice(shown[0].name, announce=True)
        if len(with_header) == 1:
            return Choice(with_header[0].name, announce=True)
        return _unclear(with_header or shown, source)
    if preferred is not None:
        return Choice(preferred.name, announce=True)
    if for_period:
        return _hidden(for_period[0])
    if period and any(month_of(name) for name in names):
        return Choice(None, problem=InputProblem("", "", source, "", "sheet_no_period", (("period", period), *listed)))
    with_header = [s for s in visible if has_header(s.name)]
    if len(with_header) == 1:
        return Choice(with_header[0].name, announce=True)
    if with_header:
        return _unclear(with_header, source)
    hidden = [s for s in sheets if not s.visible and has_header(s.name)]
    if hidden:
        return _hidden(hidden[0])
    if visible:
        return Choice(visible[0].name, announce=True)
    return _hidden(sheets[0])


def _for_period(sheets: Sequence[Sheet], period: str | None) -> list[Sheet]:
    if not period:
        return []
    year, month = month_of(period)   # "2026-09" → (2026, 9): a period is a sheet name like any other
    return [s for s in sheets if (named := month_of(s.name)) and named[1] == month and named[0] in (None, year)]


def _unclear(candidates: Sequence[Sheet], source: str) -> Choice:
    return Choice(None, problem=InputProblem("", "", source, "", "sheet_unclear",
                                             (("sheets", "、".join(s.name for s in candidates)),)))


def _hidden(sheet: Sheet) -> Choice:
    """A refusal located at the hidden sheet that would have been read."""
    return Choice(None, problem=InputProblem("", "", sheet.name, "", "sheet_hidden", (("sheet", sheet.name),)))
