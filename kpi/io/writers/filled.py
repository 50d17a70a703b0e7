"""Filling imported figures into the month's fill-in workbook (an edge: openpyxl).

The workbook ``kpi template`` wrote is loaded as a whole (so its data
validation, sheet protection, frozen panes and 说明 sheet are kept), the
imported cells are written, marked with a note and a fill colour, and locked
unless the caller wants them editable; every other cell — the supervisor's —
is left as it is. The result is saved to a temporary file beside the target
and then renamed over it, so a failure never leaves half a workbook.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill, Protection
from openpyxl.utils import get_column_letter

from kpi.core import imports, inputs, rules
from kpi.io import readers
from kpi.core.errors import InputError, InputProblem
from kpi.core.period import Period
from kpi.io.output import staged_file

IMPORTED_FILL = PatternFill("solid", fgColor="E2EFDA")   # light green: "came from the platform"
HEADER_SCAN = 10


class Row(NamedTuple):
    """An agent's row of the sheet: identity, accounts, and the cells kpi may fill."""

    agent_id: str
    name: str
    number: int                     # the sheet's row number
    accounts: tuple[str, ...]
    values: dict[str, object]       # field id → the cell's value now


class Sheet(NamedTuple):
    """An opened fill-in workbook: the book, its input sheet, the columns found, the agents' rows."""

    path: Path
    book: object
    title: str
    columns: dict[str, int]         # field id → column (1-based)
    accounts_column: int | None
    rows: list[Row]
    period: str | None              # the month kpi wrote it for (its document date), if kpi wrote it

    def where(self, row: int, field: str) -> str:
        return f"{self.title}!{get_column_letter(self.columns[field])}{row}"


class Write(NamedTuple):
    """One cell to fill: the row, the field, the value, and the note saying where it came from."""

    row: int
    field: str
    value: Decimal
    note: str


def open_sheet(path: str | Path, ruleset: rules.Ruleset) -> Sheet:
    """The fill-in workbook at ``path``; raises InputError when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise InputError([InputProblem("", "", path.name, "", "not_found")])
    readers.check_package(path)
    if not readers.safe_parser():
        raise InputError([InputProblem("", "", path.name, "", "unsafe_parser")])
    try:
        book = openpyxl.load_workbook(path)
    except Exception:  # openpyxl raises many types for a damaged package
        raise InputError([InputProblem("", "", path.name, "", "not_xlsx")]) from None
    sheet = next((book[name] for name in readers.INPUT_SHEETS if name in book.sheetnames), book.worksheets[0])
    names = inputs.header_names(ruleset)
    for number, values in enumerate(sheet.iter_rows(min_row=1, max_row=HEADER_SCAN, values_only=True), start=1):
        found = {names.get(inputs.normalise_header(v)): col for col, v in enumerate(values, start=1)}
        if "agent_id" in found:
            columns = {field: col for field, col in found.items() if field}
            accounts = imports.accounts_column(values)
            rows = _rows(sheet, number, columns, None if accounts is None else accounts + 1)
            return Sheet(path, book, sheet.title, columns, None if accounts is None else accounts + 1, rows,
                         _period(book))
    raise InputError([InputProblem("", "", f"{sheet.title}!1:{HEADER_SCAN}", "", "import_no_sheet_header")])


def _rows(sheet, header: int, columns: dict[str, int], accounts: int | None) -> list[Row]:
    rows = []
    for number, values in enumerate(sheet.iter_rows(min_row=header + 1, values_only=True), start=header + 1):
        cell = lambda col: values[col - 1] if col is not None and col - 1 < len(values) else None  # noqa: E731
        agent_id = imports.identity_text(cell(columns["agent_id"]))
        if not agent_id or inputs.normalise_header(agent_id) in inputs.TOTAL_ROW_WORDS:
            continue
        rows.append(Row(agent_id, imports.identity_text(cell(columns.get("name"))), number,
                        imports.split_accounts(imports.identity_text(cell(accounts))) if accounts else (),
                        {field: cell(col) for field, col in columns.items()}))
    return rows


def _period(book) -> str | None:
    """The month of a workbook kpi wrote (its creation date is the month's first day)."""
    props = book.properties
    if props.creator != "kpi" or props.created is None:
        return None
    return Period.containing(props.created)


def write(sheet: Sheet, writes: Sequence[Write], editable: bool, out_path: str | Path) -> None:
    """Write ``writes`` into the sheet, mark and (unless ``editable``) lock them, save to ``out_path``."""
    target = sheet.book[sheet.title]
    for item in writes:
        cell = target.cell(item.row, sheet.columns[item.field])
        cell.value = int(item.value) if item.value == item.value.to_integral_value() else float(item.value)
        cell.fill = IMPORTED_FILL
        cell.protection = Protection(locked=not editable)
        cell.comment = Comment(item.note, "kpi", width=320, height=60)
    with staged_file(Path(out_path)) as staging:
        sheet.book.save(staging)
