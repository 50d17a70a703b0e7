"""HR's payroll: ``payroll-YYYY-MM.xlsx`` (formatted for print) and ``.csv``.

Both render :func:`kpi.core.table.payroll` rows; the xlsx adds a title, the rules
version and a totals row.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from xlsxwriter.utility import xl_rowcol_to_cell

from kpi.core import calendar, i18n, numbers, rules, table
from kpi.io.writers import formulas, safe
from kpi.io.writers import workbook as xlsx

NUMBER_FORMATS = {"money": "#,##0.00", "points": "0.##", "multiplier": "0.0#", "text": "@"}
WIDTHS = {"money": 12, "points": 8, "multiplier": 8, "text": 12}


def write_xlsx(path: Path, rows: Sequence[table.Row], ruleset: rules.Ruleset, line: calendar.Timeline,
               lang: str, columns: Sequence[table.Column] = table.COLUMNS) -> None:
    """The payroll workbook: title, rules version and dates, one row per agent, totals."""
    title = i18n.text("payroll_title", lang, period=ruleset.period)
    workbook = xlsx.new(path, ruleset.period, title, streaming=True)
    sheet = workbook.add_worksheet(i18n.text("payroll_sheet", lang))
    formats = _formats(workbook)
    sheet.merge_range(0, 0, 0, len(columns) - 1, title, formats["title"])
    dates = i18n.text("payroll_dates", lang, summary=_dated(line, "summary", lang), hr=_dated(line, "hr_finance", lang))
    sheet.write_string(1, 0, f"{dates}    {xlsx.version_text(ruleset, lang)}", formats["note"])
    for col, (column, header) in enumerate(zip(columns, table.headers(lang, columns))):
        sheet.write_string(2, col, header, formats["header"])
        sheet.set_column(col, col, WIDTHS[column.kind] + {"band": 4, "level_change": 14, "flag": 18}.get(column.key, 0))
    cols = {column.key: col for col, column in enumerate(columns)}
    layout = xlsx.Layout(tuple(range(len(columns))), tuple(formats[column.kind] for column in columns))
    for index, row in enumerate(rows, start=3):
        _write_row(sheet, index, row, columns, layout, cols, ruleset.pay.rounding)
    _write_totals(sheet, 3 + len(rows), table.totals(rows), columns, lang, formats, ruleset.pay.rounding)
    _print_setup(sheet, len(rows), len(columns))
    if ruleset.pay.payroll.signatures:
        _signatures(sheet, lang)
    workbook.close()


def _dated(line: calendar.Timeline, step: str, lang: str) -> str:
    """A step's date, marked 预估 when counted on an estimated calendar."""
    day = line.date(step)
    return day.isoformat() + (i18n.text("date_estimated", lang) if line.estimated(day) else "")


def _write_row(sheet, index: int, row: table.Row, columns, layout, cols: dict[str, int], rounding) -> None:
    cell = lambda key: xl_rowcol_to_cell(index, cols[key])  # noqa: E731
    formula = formulas.pay(rounding, cell("base_pay"), cell("performance_pay"), cell("multiplier"))
    sheet.write_values(index, layout, [_value(column, getattr(row, column.key), formula) for column in columns])


def _value(column: table.Column, value, formula: str | None):
    """A payroll cell's value as the sheet takes it: text, a number, or the pay formula with its value."""
    if column.kind == "text":
        return str(value)
    if column.key == "pay" and formula:
        return xlsx.Formula(formula, float(value))
    return float(value)


def _write_totals(sheet, index: int, sums: dict[str, Decimal], columns, lang: str, formats, rounding) -> None:
    """The totals row: SUM formulas over the agents' rows, with kpi's sums as their values."""
    sheet.write_string(index, 0, i18n.text("row_totals", lang), formats["total_text"])
    for col, column in enumerate(columns):
        if column.key in sums:
            span = formulas.money_total(xl_rowcol_to_cell(3, col), xl_rowcol_to_cell(max(index - 1, 3), col), rounding)
            sheet.write_formula(index, col, span, formats["total_money"], float(sums[column.key]))


SIGNERS = ("signature_prepared", "signature_checked", "signature_approved")


def _signatures(sheet, lang: str) -> None:
    """制表 / 审核 / 批准, each with a line to sign and a date, printed at the foot of every
    page (the sheet's rows stay the agents and the totals, for HR's import); the page
    number moves to the header."""
    date = i18n.text("signature_date", lang)
    left, centre, right = (f"{i18n.text(key, lang)}  {date}" for key in SIGNERS)
    sheet.set_footer(f"&L{left}&C{centre}&R{right}", {"margin": 0.3})
    sheet.set_header("&R&P / &N")


def _print_setup(sheet, count: int, width: int) -> None:
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(2)
    sheet.freeze_panes(3, 2)
    sheet.set_footer("&C&P / &N")
    sheet.autofilter(2, 0, 2 + count, width - 1)


def _formats(workbook) -> dict:
    border = {"border": 1}
    made = {kind: workbook.add_format({**border, "num_format": fmt}) for kind, fmt in NUMBER_FORMATS.items()}
    made["title"] = workbook.add_format({"bold": True, "font_size": 14, "align": "center"})
    made["note"] = workbook.add_format({"font_size": 9, "font_color": "#555555"})
    made["header"] = workbook.add_format({**border, "bold": True, "bg_color": "#DDEBF7", "text_wrap": True,
                                          "align": "center", "valign": "vcenter"})
    made["total_text"] = workbook.add_format({**border, "bold": True})
    made["total_money"] = workbook.add_format({**border, "bold": True, "num_format": NUMBER_FORMATS["money"]})
    return made


class NotEncodable(ValueError):
    """A payroll cell the chosen CSV encoding cannot write (a rare character in GBK)."""

    def __init__(self, encoding: str, agent: str, text: str):
        self.encoding, self.agent, self.text = encoding, agent, text
        super().__init__(f"{encoding}: {agent}: {text}")


def write_csv(path: Path, rows: Sequence[table.Row], lang: str, columns: Sequence[table.Column] = table.COLUMNS,
              encoding: str = "utf-8") -> None:
    """The same rows and ``columns`` as the xlsx, as CSV: UTF-8 with BOM so Excel opens it with
    the right encoding, or GBK / GB18030 for import into 用友/金蝶-style systems. A character
    the encoding cannot hold raises :class:`NotEncodable` (nothing is left half-written: the
    caller writes to a staged file)."""
    with open(path, "w", encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(table.headers(lang, columns))
        for row in rows:
            try:
                writer.writerow([_csv_text(column, getattr(row, column.key)) for column in columns])
            except UnicodeEncodeError as error:
                raise NotEncodable(encoding, row.agent_id, error.object[error.start:error.end]) from None
        sums = table.totals(rows)
        writer.writerow([i18n.text("row_totals", lang) if i == 0 else
                         (numbers.money(sums[c.key]) if c.key in sums else "") for i, c in enumerate(columns)])


def _csv_text(column: table.Column, value: object) -> str:
    text = table.cell_text(column, value)
    return safe.csv_cell(text) if column.kind == "text" else text
