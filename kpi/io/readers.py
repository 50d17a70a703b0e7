"""Reading an input file into a :class:`kpi.core.inputs.Grid` (an edge: file I/O).

``.xlsx``: the workbook's sheets, their states and names are read with openpyxl
(read-only), the chosen sheet's cells with python-calamine (Rust: about a sixth of
openpyxl's CPU for 100,000 rows), shaped as openpyxl gives them (empty cells None,
whole numbers int, dates datetime); what calamine does not give (error values,
formulas without a calculated value, merged areas, hidden rows) comes from one scan
of the sheet's XML (:mod:`kpi.io.sheet_xml`). ``.csv`` is decoded
as UTF-8 (with or without BOM) or, failing that, GB18030, a superset of the GBK
that Excel on a Chinese Windows saves. Anything unreadable becomes an
:class:`kpi.core.errors.InputError` with one problem that says why.

XML entity attacks: expat 2.4.1 and later refuses entity expansion beyond a
fixed amplification (billion laughs, quadratic blowup) and ElementTree never
fetches external entities, so openpyxl's stdlib parser is safe and about twice
as fast as defusedxml's pure-Python one. With an older expat a workbook is
read only if defusedxml is installed (openpyxl then parses with it).
"""

from __future__ import annotations

import csv
import datetime
import io
import itertools
import operator
import pyexpat
import re
import zipfile
import zlib
from xml.etree import ElementTree
from collections.abc import Callable, Sequence
from pathlib import Path

import openpyxl
import python_calamine
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from kpi.io import returned, sheet_xml, workers
from kpi.core import sheets
from kpi.core.errors import InputError, InputProblem
from kpi.core.inputs import HEADER_SCAN, Grid

OLE2_MAGIC = b"\xd0\xcf\x11\xe0"     # old .xls, and encrypted .xlsx (an OLE2 container)
MAX_UNPACKED = 1 << 30                 # a workbook unpacking to more than 1 GiB is refused
MAX_RATIO, RATIO_FROM = 100, 50 << 20  # so is a part over 50 MiB packed more than 100 : 1
INPUT_SHEETS = sheets.PREFERRED          # the sheet kpi's template fills in, read first
MERGE_COLUMNS = 1024                   # a merged area starting further right is not filled
SAFE_EXPAT = (2, 4, 1)                 # the first expat that limits entity amplification
REFUSED_XML = {43, 11}                 # expat: amplification limit breached; undefined (e.g. external) entity


def read(path: str | Path, prefetch: bool = False, period: str | None = None, sheet: str | None = None,
         header_test: Callable[[Sequence[object]], bool] | None = None) -> Grid:
    """The grid of ``path``; raises InputError when the file cannot be read.

    ``prefetch``: a workbook's rows are read by another process while this one uses them.
    ``period`` (YYYY-MM) picks a workbook's sheet named for the month, ``sheet`` names the
    sheet to read (``--sheet``); ``header_test(row)`` tells a header row (a sheet holding
    one is the month's table; a CSV's separator is the one that makes one)."""
    path = Path(path)
    head = _head(path)
    suffix = path.suffix.lower()
    older = old_format(suffix, head)
    if older:
        raise _unreadable(path, older)
    if suffix == ".xlsx" and head.startswith(OLE2_MAGIC):
        raise _unreadable(path, "encrypted")
    if suffix == ".xlsx":
        return _read_xlsx(path, prefetch, period, sheet, header_test)
    if suffix in (".csv", ".txt"):
        return _read_csv(path, header_test)
    raise _unreadable(path, "unsupported_format")


def old_format(suffix: str, head: bytes = b"") -> str | None:
    """The message key for a spreadsheet in a format older than .xlsx, which says how to save
    it as one: WPS 表格's own ``.et``; an Excel 97-2003 workbook, named .xls or an OLE2
    container not named .xlsx (an .xlsx in one is an encrypted workbook). None otherwise."""
    if suffix == ".et":
        return "wps_et"
    if suffix == ".xls" or (suffix != ".xlsx" and head.startswith(OLE2_MAGIC)):
        return "old_xls"
    return None


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError:
        raise _unreadable(path, "not_found") from None
    if not head:
        raise _unreadable(path, "empty_file")
    return head


def _unreadable(path: Path, code: str) -> InputError:
    return InputError([InputProblem("", "", path.name, "", code)])


# ------------------------------------------------------------------ xlsx
def check_package(path: Path) -> None:
    """Refuse a file that is no zip package, or a zip bomb, before anything is unpacked."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            found = returned.hazard(archive)   # macros, links to other workbooks: refused with the reason
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, zlib.error, EOFError):
        # NotImplementedError: a zip version it cannot read; zlib.error, EOFError: a damaged member
        raise _unreadable(path, "not_xlsx") from None
    if found:
        raise _unreadable(path, found)
    if sum(m.file_size for m in members) > MAX_UNPACKED or any(
            m.file_size > RATIO_FROM and m.file_size > MAX_RATIO * max(m.compress_size, 1) for m in members):
        raise _unreadable(path, "zip_bomb")


def _open_workbook(path: Path, **options):
    """openpyxl's workbook; XML attacks (refused by expat or defusedxml) and damage become problems."""
    check_package(path)
    if not safe_parser():
        raise _unreadable(path, "unsafe_parser")
    try:
        return load_workbook(path, **options)
    except Exception as error:  # openpyxl raises many types for a damaged package
        raise _damaged(path, error) from None


def _damaged(path: Path, error: Exception) -> InputError:
    """The problem for a workbook openpyxl could not read: an XML attack, or damage."""
    return _unreadable(path, "unsafe_xml" if _is_xml_attack(error) else "not_xlsx")


def _locator(name: str):
    """``where(row, col)`` for a sheet or file: ``name!C5``, or ``name!5:5`` for a whole row."""
    def where(row: int, col: int | None) -> str:
        return f"{name}!{row}:{row}" if col is None else f"{name}!{get_column_letter(col + 1)}{row}"
    return where


def safe_parser(expat: tuple[int, int, int] = pyexpat.version_info) -> bool:
    """Whether openpyxl parses with something that refuses entity attacks."""
    return expat >= SAFE_EXPAT or openpyxl.DEFUSEDXML


def _is_xml_attack(error: BaseException | None) -> bool:
    """Whether the parser refused the XML's entities, here or in the chain of causes openpyxl
    wraps the error in (expat's ParseError; defusedxml's own exceptions where it is used), or
    the sheet part declares entities (:class:`kpi.io.sheet_xml.DeclaredEntities`)."""
    while error is not None:
        if (isinstance(error, sheet_xml.DeclaredEntities)
                or isinstance(error, ElementTree.ParseError) and error.code in REFUSED_XML
                or type(error).__module__.startswith("defusedxml")):
            return True
        error = error.__cause__ or error.__context__
    return False


def _read_xlsx(path: Path, prefetch: bool, period: str | None, requested: str | None, header_test) -> Grid:
    book = _open_workbook(path, read_only=True, data_only=True)

    try:
        written_for = _period_of(book)
        sheet, announce = _chosen_sheet(path, book, period, requested, header_test)
        declared = sheet.max_row if isinstance(sheet.max_row, int) and sheet.max_row > 1 else None
        sheet.reset_dimensions()  # WPS and Java exporters write <dimension ref="A1"/>: read every cell
        with zipfile.ZipFile(path) as archive:
            stale = sheet_xml.stale_values(archive)
            facts = sheet_xml.scan(archive, sheet._worksheet_path, stale)
        if stale and facts.uncalculated:  # the values stored with formulas are not read
            facts = facts._replace(blanked=facts.uncalculated)
    except InputError:
        book.close()
        raise
    except Exception as error:
        book.close()
        raise _damaged(path, error) from None
    rows = _rows_read_elsewhere(path, book, sheet, facts) if prefetch else _xlsx_rows(path, book, sheet, facts)
    notices = (InputProblem("", "", sheet.title, "", "sheet_read", (("sheet", sheet.title),)),) if announce else ()
    return Grid(source=path.name, rows=rows, where=_locator(sheet.title),
                formula=lambda row, col: facts.uncalculated.get((row, col)), typed=True, size=declared,
                place=sheet.title, hidden=facts.hidden_rows, notices=notices, period=written_for)


def _period_of(book) -> str | None:
    """The month a kpi workbook says it is for (its defined name ``kpi_period``), else None."""
    try:
        defined = book.defined_names.get("kpi_period")
    except Exception:  # an odd names table only loses the check
        return None
    if defined is None or not defined.value:
        return None
    return defined.value.strip().lstrip("=").strip('"') or None



def _chosen_sheet(path: Path, book, period, requested, header_test):
    """(the worksheet holding the month's table, whether the workbook has others); refused
    when that is unclear (:mod:`kpi.core.sheets`)."""
    found = [sheets.Sheet(ws.title, ws.sheet_state == "visible") for ws in book.worksheets]

    def has_header(title: str) -> bool:
        if header_test is None:
            return False
        ws = book[title]
        ws.reset_dimensions()
        return any(header_test(values) for values in ws.iter_rows(max_row=HEADER_SCAN, values_only=True))

    choice = sheets.choose(found, period, requested, has_header, path.name)
    if choice.problem is not None:
        raise InputError([choice.problem])
    return book[choice.name], choice.announce


def _xlsx_rows(path: Path, book, sheet, facts: sheet_xml.SheetFacts | None = None):
    """Rows with their numbers, merged areas filled with their value and an Excel table's
    total row left empty; a damaged sheet stops with an InputError."""
    facts = facts or sheet_xml.SheetFacts()
    try:
        height, width = facts.extent
        if height * width <= MAX_GRID_CELLS:
            book.close()  # openpyxl chose the sheet; calamine reads its cells
            cells = _calamine_rows(path, sheet.title)
        else:  # calamine would hold the whole grid: openpyxl reads it row by row
            cells = sheet.iter_rows(values_only=True)
        replaced = {**facts.errors, **dict.fromkeys(facts.blanked)}  # error values back; stale values out
        yield from _emptied(_filled(_replaced(enumerate(cells, start=1), replaced), facts.merges), facts.skipped)
    except InputError:
        raise
    except Exception as error:
        raise _damaged(path, error) from None
    finally:
        book.close()


# calamine holds a sheet's whole grid, 32 bytes a cell: a sheet spanning more cells (a stray
# cell at XFD1048576 spans 17 billion) is read by openpyxl, row by row, in little memory.
MAX_GRID_CELLS = 4_000_000
WHOLE = 1e16  # a whole float below this is read as int, as openpyxl reads "1001" (above, Excel writes 1E+16)


def _calamine_rows(path: Path, title: str):
    """The cells of sheet ``title``, row by row from row 1 and column A, as openpyxl's read-only
    mode gives them: an empty cell None, a whole number int, a date a datetime. calamine gives
    an error cell as "" (:func:`_replaced` puts its value back)."""
    workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        sheet = workbook.get_sheet_by_name(title)
        left = [None] * sheet.start[1] if sheet.start else []  # calamine's rows begin at the first used column
        date, stamp = datetime.date, datetime.datetime
        for values in sheet.iter_rows():
            row = left.copy()
            for value in values:
                kind = value.__class__
                if kind is str:
                    row.append(value or None)
                elif kind is float:
                    row.append(int(value) if value.is_integer() and -WHOLE < value < WHOLE else value)
                elif kind is date:
                    row.append(stamp(value.year, value.month, value.day))
                else:
                    row.append(value)
            yield tuple(row)
    finally:
        workbook.close()


def _filled(rows, merges: tuple[sheet_xml.Merge, ...]):
    """Each row with its cell of a merged area's first column holding the area's value (its
    top-left cell's), as Excel shows it: a team's name merged over its agents' rows belongs
    to each of them. Across columns nothing is copied: a header cell merged over two columns
    names one column, and a label merged over 序号..级别 is found in its first cell."""
    starting: dict[int, list[sheet_xml.Merge]] = {}
    for merge in merges:
        if merge.max_row > merge.min_row and merge.min_col <= MERGE_COLUMNS:
            starting.setdefault(merge.min_row, []).append(merge)
    if not starting:
        yield from rows
        return
    active: list[tuple[sheet_xml.Merge, object]] = []
    for number, values in rows:
        if active:
            active = [(merge, value) for merge, value in active if merge.max_row >= number]
            if active:
                row = list(values)
                for merge, value in active:
                    if len(row) < merge.min_col:
                        row.extend([None] * (merge.min_col - len(row)))
                    row[merge.min_col - 1] = value
                values = tuple(row)
        for merge in starting.get(number, ()):
            active.append((merge, values[merge.min_col - 1] if len(values) >= merge.min_col else None))
        yield number, values


def _replaced(rows, cells: dict[tuple[int, int], str | None]):
    """The rows, with the value of ``cells`` (row, col from 0) as given there: an error cell's
    value (#DIV/0!), None for a formula whose stored value is stale."""
    if not cells:
        yield from rows
        return
    by_row: dict[int, list[int]] = {}
    for number, col in cells:
        by_row.setdefault(number, []).append(col)
    for number, values in rows:
        if number in by_row:
            row = list(values)
            for col in by_row[number]:
                if col < len(row):
                    row[col] = cells[number, col]
                elif cells[number, col] is not None:
                    row.extend([None] * (col - len(row)) + [cells[number, col]])
            values = tuple(row)
        yield number, values


def _emptied(rows, skipped: frozenset[int]):
    """The rows, those of ``skipped`` (an Excel table's total row) left empty."""
    if not skipped:
        yield from rows
        return
    for number, values in rows:
        yield number, (() if number in skipped else values)


def _rows_read_elsewhere(path: Path, book, sheet, facts: sheet_xml.SheetFacts | None = None):
    """The rows, read by another process; this one's handle on the workbook closes at the end."""
    try:
        yield from workers.stream(lambda: _xlsx_rows(path, book, sheet, facts))
    finally:
        book.close()


# ------------------------------------------------------------------ csv
def decode(data: bytes) -> str | None:
    """CSV bytes as text: UTF-16 with BOM (Excel's "Unicode text"), UTF-8 (BOM
    or not), else GB18030; None if none of them reads it."""
    encodings = ("utf-16",) if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _read_csv(path: Path, header_test=None) -> Grid:
    text = decode(path.read_bytes())
    if text is None or "\x00" in text:
        raise _unreadable(path, "not_text")
    separator = _separator(text, header_test)
    if separator is None:
        raise InputError([InputProblem("", "", f"{path.name}!1:{HEADER_SCAN}", "", "csv_separator",
                                       (("separator", _likely_separator(text).replace("\t", "Tab")),))])
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=separator)  # lazily: a check that stops early parses no more
    return Grid(source=path.name, rows=_csv_rows(rows, path.name), where=_locator(path.name))


def _csv_rows(rows, name: str):
    """``(line, cells)`` of a CSV reader; a line it cannot split (a field longer than the csv
    module's limit of 131,072 characters, a stray quote at the end) is refused with its line.

    A cell written ``="KF1001"`` is read as ``KF1001``, as Excel opens it: exporters wrap ids
    and long numbers so, lest a spreadsheet drop their leading zeros or round them."""
    number = 0
    try:
        for number, cells in enumerate(rows, start=1):
            if any(map(_EXCEL_TEXT_START, cells)):
                cells = [_unwrapped(cell) for cell in cells]
            yield number, cells
    except csv.Error as error:
        raise InputError([InputProblem("", "", f"{name}!{number + 1}:{number + 1}", "", "csv_broken_line",
                                       (("reason", str(error)),))]) from None


_EXCEL_TEXT_START = operator.methodcaller("startswith", '="')
_EXCEL_TEXT = re.compile(r'="((?:[^"]|"")*)"')


def _unwrapped(cell: str) -> str:
    """``="text"`` → ``text`` (``""`` inside is one quote); any other cell as it is."""
    match = _EXCEL_TEXT.fullmatch(cell)
    return match.group(1).replace('""', '"') if match else cell


def _separator(text: str, header_test) -> str | None:
    """The CSV's separator: the one with which a header row is found in the first rows;
    without ``header_test``, what the first line suggests. None when no separator gives a
    header but the text looks separated by something other than commas (refused with a hint)."""
    first_line = text.split("\n", 1)[0]
    guess = "\t" if "\t" in first_line and "," not in first_line else ","
    if header_test is None:
        return guess
    start = text[:1 << 16]
    for separator in (",", "\t", ";", "|"):
        reader = csv.reader(io.StringIO(start, newline=""), delimiter=separator)
        if any(header_test(row) for row in itertools.islice(reader, HEADER_SCAN)):
            return separator
    return None if _likely_separator(text) != "," else guess


def _likely_separator(text: str) -> str:
    """The separator the first rows use most (comma when none)."""
    start = "\n".join(text[:1 << 16].splitlines()[:HEADER_SCAN])
    counts = {separator: start.count(separator) for separator in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


# ------------------------------------------------------------------ returned scorecards
def read_scorecard(path: str | Path, password: str | None = None) -> returned.ReturnedCard:
    """A returned scorecard, read bounded (:mod:`kpi.io.returned`); raises InputError when it
    is not one kpi wrote. An encrypted card (``kpi score --encrypt``) is opened with
    ``password``, in memory."""
    path = Path(path)
    head, suffix = _head(path), path.suffix.lower()
    older = old_format(suffix, head)   # saved back as Excel 97-2003 or in WPS' own format
    if older:
        raise _unreadable(path, older)
    if suffix != ".xlsx":
        raise _unreadable(path, "not_xlsx")
    data = None
    if head.startswith(OLE2_MAGIC):
        if not password:
            raise _unreadable(path, "card_encrypted_no_password")
        data = _decrypted(path, password)
    check_package(path if data is None else _named_bytes(data, path.name))
    if not safe_parser():
        raise _unreadable(path, "unsafe_parser")
    card = returned.read(path, data)
    if card.claim is None:
        raise _unreadable(path, "not_scorecard")
    return card


def _decrypted(path: Path, password: str) -> bytes:
    """The plain package of an encrypted workbook (Office encryption), kept in memory."""
    import msoffcrypto  # only here: it brings in the cryptography package

    plain = io.BytesIO()
    try:
        with open(path, "rb") as handle:
            office = msoffcrypto.OfficeFile(handle)
            office.load_key(password=password)
            office.decrypt(plain)
    except Exception:  # msoffcrypto raises several types for a wrong password or a damaged file
        raise _unreadable(path, "card_wrong_password") from None
    return plain.getvalue()


def _named_bytes(data: bytes, name: str) -> io.BytesIO:
    """``data`` as a file object that says its name (for the problems that name the file)."""
    handle = io.BytesIO(data)
    handle.name = name
    return handle
