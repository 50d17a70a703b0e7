"""What a worksheet's XML says besides its cell values (an edge: reads the package).

The cell reader (python-calamine) gives neither merged ranges, hidden rows, Excel
tables, whether a formula has a calculated value nor an error cell's value (#DIV/0!
reads as empty text).
One pass over the sheet part finds them: the part is inflated in chunks and
searched with byte patterns (C speed), never parsed element by element, so a
100,000-row sheet costs a fraction of a second more. Only the small table
parts go through ElementTree.
"""

from __future__ import annotations

import html
import posixpath
import re
import zipfile
from typing import NamedTuple
from xml.etree import ElementTree

from openpyxl.utils.cell import column_index_from_string, range_boundaries

CHUNK = 1 << 20
_ROOT = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?worksheet\b")
_RELS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


class DeclaredEntities(ValueError):
    """The sheet part has a document type declaration (``<!DOCTYPE``, where entities are
    declared): no spreadsheet writes one, and the cell reader would not refuse their
    expansion as expat does, so the workbook is refused as an XML attack."""


class Merge(NamedTuple):
    """A merged range, rows and columns from 1 (inclusive)."""

    min_row: int
    min_col: int
    max_row: int
    max_col: int


class SheetFacts(NamedTuple):
    """What the scan found. ``uncalculated``: (row, col from 0) → the formula (``=…``) of
    a cell that has one and no calculated value; ``skipped``: rows that are an Excel
    table's total row; ``dimension``: the ``ref`` of ``<dimension>`` as written;
    ``blanked``: the cells whose stored values are not read (stale formulas' values);
    ``errors``: (row, col from 0) → the error value (``#DIV/0!``) of a cell holding one;
    ``extent``: (rows, columns) the cells' grid spans at most (a bound: the reader that
    holds the whole grid in memory is not given one that would not fit)."""

    dimension: str = ""
    hidden_rows: frozenset[int] = frozenset()
    merges: tuple[Merge, ...] = ()
    skipped: frozenset[int] = frozenset()
    uncalculated: dict[tuple[int, int], str] = {}
    blanked: dict[tuple[int, int], str] = {}
    errors: dict[tuple[int, int], str] = {}
    extent: tuple[int, int] = (0, 0)


class _Patterns(NamedTuple):
    hidden_row: re.Pattern
    bare_formula: re.Pattern
    any_formula: re.Pattern
    cell_start: bytes
    cell_end: bytes
    row_end: bytes
    data_end: bytes
    dimension: re.Pattern
    merge: re.Pattern
    table: re.Pattern
    row_number: re.Pattern
    empty_row: re.Pattern
    row_starts: tuple[bytes, ...]
    cell_starts: bytes
    referenced_cell: bytes
    referenced_row: bytes


def _patterns(prefix: bytes) -> _Patterns:
    p = re.escape(prefix + b":") if prefix else b""
    return _Patterns(
        hidden_row=re.compile(rb"<" + p + rb"row\b([^>]*?\bhidden=\"(?:1|true)\"[^>]*)>"),
        # a formula followed directly by the end of its cell (no <v>, or an empty one)
        bare_formula=re.compile(rb"<" + p + rb"f\b([^>]*?)(?:/>|>([^<]*)</" + p + rb"f>)\s*(<" + p
                                + rb"v\s*/>|<" + p + rb"v>\s*</" + p + rb"v>)?\s*</" + p + rb"c>"),
        any_formula=re.compile(rb"<" + p + rb"f\b([^>]*?)(?:/>|>([^<]*)</" + p + rb"f>)()"),
        cell_start=b"<" + (prefix + b":" if prefix else b"") + b"c ",
        cell_end=b"</" + (prefix + b":" if prefix else b"") + b"c>",
        row_end=b"</" + (prefix + b":" if prefix else b"") + b"row>",
        data_end=b"</" + (prefix + b":" if prefix else b"") + b"sheetData>",
        dimension=re.compile(rb"<" + p + rb"dimension\b[^>]*\bref=\"([^\"]*)\""),
        merge=re.compile(rb"<" + p + rb"mergeCell\b[^>]*\bref=\"([^\"]+)\""),
        table=re.compile(rb"<" + p + rb"tablePart\b[^>]*\b[\w.-]+:id=\"([^\"]+)\""),
        row_number=re.compile(rb"<" + p + rb"row r=\"(\d+)\""),
        empty_row=re.compile(rb"<" + p + rb"row\b[^>]*/>"),   # <row r="9" s="1" customFormat="1"/>: no cells
        row_starts=tuple(b"<" + (prefix + b":" if prefix else b"") + b"row" + end for end in (b" ", b">")),
        cell_starts=b"<" + (prefix + b":" if prefix else b"") + b"c",  # and <col, <cfRule...: a bound
        referenced_cell=b"<" + (prefix + b":" if prefix else b"") + b'c r="',
        referenced_row=b"<" + (prefix + b":" if prefix else b"") + b'row r="')


_ROW_NUMBER = re.compile(rb"\br=\"(\d+)\"")
_CELL_REF = re.compile(rb"\br=\"([A-Z]{1,3})(\d+)\"")
_SHARED = re.compile(rb"\bt=\"shared\"")
_STRING = re.compile(rb"\bt=\"str\"")
_STALE = re.compile(rb"<(?:[\w.-]+:)?calcPr\b[^>]*\bfullCalcOnLoad=\"(?:1|true)\"")
_SHARED_INDEX = re.compile(rb"\bsi=\"(\d+)\"")
_ERROR_TYPE = b't="e"'
_LETTERS_DIGITS = re.compile(rb"([A-Z]+)(\d+)")
_DOCTYPE = b"<!DOCTYPE"
_VALUE = re.compile(rb"<(?:[\w.-]+:)?v>([^<]*)</(?:[\w.-]+:)?v>")


def scan(archive: zipfile.ZipFile, part: str, stale: bool = False) -> SheetFacts:
    """The facts of the worksheet stored at ``part`` (``xl/worksheets/sheet1.xml``).

    ``stale``: the workbook says its calculated values are to be recalculated on opening
    (:func:`stale_values`), so every formula counts as one without a value."""
    hidden: set[int] = set()
    uncalculated: dict[tuple[int, int], str] = {}
    shared: dict[bytes, str] = {}
    errors: dict[tuple[int, int], str] = {}
    extent = _Extent()
    with archive.open(part) as source:
        buffer = source.read(CHUNK)
        found = _ROOT.search(buffer)
        if _DOCTYPE in buffer[:found.start() if found else len(buffer)]:
            raise DeclaredEntities(part)
        patterns = _patterns(found.group(1) or b"" if found else b"")
        formulas = patterns.any_formula if stale else patterns.bare_formula
        dimension = patterns.dimension.search(buffer)
        tail, more = b"", buffer
        while True:
            end = buffer.find(patterns.data_end)
            if end >= 0:
                _search(buffer[:end], patterns, formulas, hidden, uncalculated, shared, errors, extent)
                tail = buffer[end:] + source.read()
                break
            if not more:
                _search(buffer, patterns, formulas, hidden, uncalculated, shared, errors, extent)
                break
            cut = buffer.rfind(patterns.row_end)
            cut = cut + len(patterns.row_end) if cut >= 0 else max(map(buffer.rfind, patterns.row_starts))
            if cut > 0:   # before it: whole rows (rows closing themselves, <row r="9"/>, have no end tag)
                _search(buffer[:cut], patterns, formulas, hidden, uncalculated, shared, errors, extent)
                buffer = buffer[cut:]
            more = source.read(CHUNK)
            buffer += more
    merges, tables = _tail(tail, patterns)
    return SheetFacts(
        dimension=dimension.group(1).decode("ascii", "replace") if dimension else "",
        hidden_rows=frozenset(hidden), merges=merges,
        skipped=frozenset(_table_totals(archive, part, tables)), uncalculated=uncalculated, errors=errors,
        extent=(extent.rows + extent.unnumbered_rows, extent.columns + extent.unreferenced_cells))


class _Extent:
    """The largest row and column numbers seen, and the rows and cells without a number (placed
    after the one before by a reader, so each may add one to the extent)."""

    def __init__(self) -> None:
        self.rows = self.columns = self.unnumbered_rows = self.unreferenced_cells = 0

    def add(self, data: bytes, patterns: _Patterns) -> None:
        """The extent of ``data``, a run of whole rows: the rows' numbers, columns past Z, and a
        cell numbered beyond any row seen (a row's cells are numbered as the row, or less)."""
        starts = sum(map(data.count, patterns.row_starts))
        if starts > data.count(patterns.row_end):   # rows closing themselves: formatted, holding no cell
            data, empty = patterns.empty_row.subn(b"", data)   # (a whole sheet's rows styled): no extent
            starts -= empty
        numbers = patterns.row_number.findall(data)
        if numbers:
            self.rows = max(self.rows, max(map(int, numbers)))
        self.unnumbered_rows += starts - len(numbers)
        referenced = data.count(patterns.referenced_cell)
        self.unreferenced_cells += data.count(patterns.cell_starts) - referenced
        self.columns = max(self.columns, 26 if referenced else 0)
        # one pass for the rare references: a column past Z, or a row longer than any seen
        rare = re.compile(re.escape(patterns.referenced_cell)
                          + rb"([A-Z]{2,3}\d+|[A-Z]\d{%d,})" % (len(str(self.rows)) + 1))
        for ref in set(rare.findall(data)):
            letters, digits = _LETTERS_DIGITS.fullmatch(ref).groups()
            self.columns = max(self.columns, column_index_from_string(letters.decode("ascii")))
            self.rows = max(self.rows, int(digits))


def _search(data: bytes, patterns: _Patterns, formulas: re.Pattern, hidden: set[int], uncalculated: dict,
            shared: dict, errors: dict, extent: _Extent) -> None:
    """Hidden rows, formulas without a value, error cells and the grid's extent in ``data``, a run
    of whole rows. An empty value of a string formula (``t="str"``) is a value: Excel's
    ``=IF(…,"",…)`` gave "" ."""
    _errors(data, patterns, errors)
    extent.add(data, patterns)
    for match in patterns.hidden_row.finditer(data):
        number = _ROW_NUMBER.search(match.group(1))
        if number:
            hidden.add(int(number.group(1)))
    for match in formulas.finditer(data):
        start = data.rfind(patterns.cell_start, 0, match.start())
        tag_end = data.find(b">", start)
        ref = _CELL_REF.search(data, start, tag_end) if start >= 0 else None
        if ref is None or match.group(3) and _STRING.search(data, start, tag_end):
            continue
        attributes, text = match.group(1), match.group(2)
        index = _SHARED_INDEX.search(attributes) if _SHARED.search(attributes) else None
        formula = html.unescape(text.decode("utf-8", "replace")) if text else ""
        if index is not None:
            formula = shared.setdefault(index.group(1), formula) if formula else shared.get(index.group(1), "")
        cell = (int(ref.group(2)), column_index_from_string(ref.group(1).decode("ascii")) - 1)
        uncalculated[cell] = "=" + formula


def _errors(data: bytes, patterns: _Patterns, errors: dict) -> None:
    """The error cells (``t="e"``) in ``data`` with their values, as openpyxl reads them."""
    found = data.find(_ERROR_TYPE)
    while found >= 0:
        start = data.rfind(patterns.cell_start, 0, found)
        tag_end = data.find(b">", found)
        if start >= 0 and tag_end > 0 and data.find(b">", start, found) < 0 and data[tag_end - 1:tag_end] != b"/":
            ref = _CELL_REF.search(data, start, tag_end)
            end = data.find(patterns.cell_end, tag_end)
            value = _VALUE.search(data, tag_end, end) if end > 0 else None
            if ref is not None and value is not None:
                cell = (int(ref.group(2)), column_index_from_string(ref.group(1).decode("ascii")) - 1)
                errors[cell] = html.unescape(value.group(1).decode("utf-8", "replace"))
        found = data.find(_ERROR_TYPE, found + 1)


def stale_values(archive: zipfile.ZipFile) -> bool:
    """Whether the workbook asks to be recalculated when opened (``fullCalcOnLoad``): a
    program wrote it (xlsxwriter stores 0 as every formula's value) and no spreadsheet
    has saved it since, so the values stored with its formulas are not to be believed."""
    try:
        return bool(_STALE.search(archive.read("xl/workbook.xml")))
    except KeyError:
        return False


def _tail(tail: bytes, patterns: _Patterns) -> tuple[tuple[Merge, ...], list[str]]:
    """Merged ranges and table relationship ids from what follows ``</sheetData>``."""
    merges = []
    for ref in patterns.merge.findall(tail):
        try:
            min_col, min_row, max_col, max_row = range_boundaries(ref.decode("ascii"))
        except (ValueError, TypeError, UnicodeDecodeError):
            continue
        if None not in (min_col, min_row, max_col, max_row):
            merges.append(Merge(min_row, min_col, max_row, max_col))
    return tuple(merges), [rel.decode("ascii", "replace") for rel in patterns.table.findall(tail)]


def _table_totals(archive: zipfile.ZipFile, part: str, ids: list[str]) -> set[int]:
    """The rows of the sheet's Excel tables that are a total row."""
    if not ids:
        return set()
    folder, name = posixpath.split(part)
    try:
        rels = ElementTree.fromstring(archive.read(posixpath.join(folder, "_rels", name + ".rels")))
    except (KeyError, ElementTree.ParseError):
        return set()
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.iter(_RELS_NS + "Relationship")}
    rows = set()
    for rel_id in ids:
        target = targets.get(rel_id)
        if not target:
            continue
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        try:
            table = ElementTree.fromstring(archive.read(path))
            totals = int(table.get("totalsRowCount") or 0)
            _, _, _, last = range_boundaries(table.get("ref", ""))
        except (KeyError, ValueError, TypeError, ElementTree.ParseError):
            continue
        rows.update(range(last - totals + 1, last + 1))
    return rows
