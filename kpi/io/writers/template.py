"""The month's fill-in workbook (填报表) for supervisors.

One row per agent of the roster with identity pre-filled; input cells
unlocked, everything else protected (no password); data validation per column
with an input message that states its rule; frozen header and id columns; A4
landscape. A second sheet, 说明, holds the rules in force and the timeline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from xlsxwriter.utility import xl_col_to_name

from kpi.core import i18n, numbers, rules
from kpi.core.agents import AgentInput
from kpi.io.writers import workbook as xlsx

PREFILLED = ("agent_id", "name", "team", "level")
VALIDATION_TYPES = {"count": "integer", "money": "decimal", "number": "decimal"}
BIG = Decimal(10) ** 12  # "no upper bound" for Excel validation


def write(path: Path, roster: Sequence[AgentInput], ruleset: rules.Ruleset, notes: Sequence[str], lang: str,
          accounts: Mapping[str, Sequence[str]] | None = None) -> None:
    """Write the fill-in workbook for ``roster`` with ``notes`` (rules and timeline text) on 说明;
    with ``accounts`` (工号 → 旺旺 accounts, from the roster), a 旺旺账号 column for ``kpi import``."""
    title = i18n.text("template_title", lang, period=ruleset.period)
    workbook = xlsx.new(path, ruleset.period, title)
    formats = _formats(workbook)
    sheet = workbook.add_worksheet(i18n.text("template_sheet", lang))
    shown = columns(ruleset)
    for f in shown:
        _column(sheet, shown, f, len(roster), formats, lang)
    for row, agent in enumerate(roster, start=1):
        _agent_row(sheet, row, agent, shown, formats)
    if accounts is not None:  # after every other column written (xlsxwriter's dim_colmax: the last used)
        _accounts_column(sheet, (sheet.dim_colmax or 0) + 1, roster, accounts, formats, lang)
    _protect_and_print(sheet, len(shown))
    sheet.set_header(f"&L{title}")
    _notes_sheet(workbook, notes, formats, lang, ruleset.period)
    workbook.define_name("kpi_period", f'="{ruleset.period}"')   # kpi check/score refuse another month's sheet
    workbook.close()


def columns(ruleset: rules.Ruleset) -> list[rules.InputField]:
    """The sheet's columns: every field, the per-item comment columns only when configured."""
    return [f for f in ruleset.fields
            if f.comment_for is None or f.comment_for == "month" or ruleset.item_comments]


def _column(sheet, shown: list, f: rules.InputField, count: int, formats, lang: str) -> None:
    col = shown.index(f)
    sheet.write_string(0, col, f.label(lang), formats["header"])
    sheet.set_column(col, col, 30 if f.comment_for else 14 if f.type == "text" else 12,
                     formats["comment"] if f.comment_for else None)
    if f.id not in PREFILLED and count:
        sheet.data_validation(1, col, count, col, _validation(f, shown, lang))


def _validation(f: rules.InputField, shown: list, lang: str) -> dict:
    """The data-validation rule of a column, with an input message in words."""
    if f.type == "text":
        message = _rule_text(f, None, lang)
        rule = {"validate": "length", "criteria": "<=", "value": f.max_length or 255}
        return {**rule, "input_title": f.label(lang)[:32], "input_message": message[:255],
                "error_title": f.label(lang)[:32], "error_message": message[:255], "ignore_blank": True}
    low = f.min if f.min is not None else numbers.ZERO
    high: object = f.max if f.max is not None else BIG
    other = next((g for g in shown if g.id == f.at_most), None) if f.at_most else None
    if other is not None:
        high = f"={xl_col_to_name(shown.index(other))}2"
    number = numbers.json_number
    rule = {"validate": VALIDATION_TYPES[f.type], "criteria": "between",
            "minimum": number(low), "maximum": high if isinstance(high, str) else number(high)}
    if f.min_exclusive:
        rule = {"validate": VALIDATION_TYPES[f.type], "criteria": ">", "value": number(low)}
    message = _rule_text(f, other, lang)
    return {**rule, "input_title": f.label(lang)[:32], "input_message": message[:255],
            "error_title": f.label(lang)[:32], "error_message": message[:255], "ignore_blank": True}


def _rule_text(f: rules.InputField, other: rules.InputField | None, lang: str) -> str:
    """The column's rule in words, the same text for the input and the error message."""
    parts = [i18n.text(f"template_type_{f.type}", lang)]
    if f.min is not None:
        key = "template_gt" if f.min_exclusive else "template_ge"
        parts.append(i18n.text(key, lang, value=numbers.plain(f.min)))
    if f.max is not None and other is None:  # with another field as the bound, its sanity maximum says little
        parts.append(i18n.text("template_le", lang, value=numbers.plain(f.max)))
    if f.increment is not None:
        parts.append(i18n.text("template_increment", lang, value=numbers.plain(f.increment)))
    if f.max_length is not None:
        parts.append(i18n.text("template_max_length", lang, value=f.max_length))
    if other is not None:
        parts.append(i18n.text("template_le_field", lang, other=other.label(lang)))
    parts.append(i18n.text("template_required" if f.required else "template_optional", lang))
    return i18n.text("explain_sep", lang).join(parts)


def _agent_row(sheet, row: int, agent: AgentInput, shown: list, formats) -> None:
    for col, f in enumerate(shown):
        if f.comment_for is not None:
            sheet.write_blank(row, col, None, formats["comment"])
        elif f.id in PREFILLED:
            sheet.write_string(row, col, getattr(agent, f.id), formats["id"])
        elif agent.values.get(f.id) is not None:
            sheet.write_number(row, col, float(agent.values[f.id]), formats["input"])
        else:
            sheet.write_blank(row, col, None, formats["input"])


def _accounts_column(sheet, col: int, roster: Sequence[AgentInput], accounts: Mapping[str, Sequence[str]],
                     formats, lang: str) -> None:
    """The 旺旺账号 column after the fields: each agent's platform accounts, by which ``kpi import``
    matches export rows to agents; left editable, since accounts change within a month."""
    sheet.write_string(0, col, i18n.text("template_accounts", lang), formats["header"])
    sheet.set_column(col, col, 24)
    for row, agent in enumerate(roster, start=1):
        sheet.write_string(row, col, "; ".join(accounts.get(agent.agent_id, ())), formats["accounts"])


def _protect_and_print(sheet, width: int) -> None:
    sheet.freeze_panes(1, 2)
    sheet.protect("", {"sort": True, "autofilter": True, "format_columns": True, "format_rows": True,
                       "select_locked_cells": True, "select_unlocked_cells": True})
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(0)
    sheet.set_row(0, 32)


def _notes_sheet(workbook, notes: Sequence[str], formats, lang: str, period: str) -> None:
    sheet = workbook.add_worksheet(i18n.text("template_notes_sheet", lang))
    sheet.set_column(0, 0, 120)
    sheet.set_column(1, 1, 16)
    sheet.write_string(0, 1, i18n.text("template_period_cell", lang, period=period), formats["note_bold"])
    for row, line in enumerate(notes):
        sheet.write_string(row, 0, line, formats["note_bold"] if row == 0 else formats["note"])
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    sheet.protect("")


def _formats(workbook) -> dict:
    add = workbook.add_format
    return {
        "header": add({"bold": True, "text_wrap": True, "bg_color": "#DDEBF7", "border": 1, "valign": "vcenter",
                       "align": "center", "locked": True}),
        "id": add({"border": 1, "bg_color": "#F2F2F2", "locked": True, "num_format": "@"}),
        "input": add({"border": 1, "bg_color": "#FFFFE0", "locked": False}),
        "accounts": add({"border": 1, "locked": False, "num_format": "@", "text_wrap": True}),
        "comment": add({"border": 1, "bg_color": "#FFFFE0", "locked": False, "text_wrap": True, "num_format": "@"}),
        "note": add({"font_name": "Consolas"}),
        "note_bold": add({"bold": True}),
    }
