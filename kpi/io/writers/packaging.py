"""Where kpi reaches into xlsxwriter's private API, all of it in this one module: package
parts shared by similar workbooks, whole rows, kpi's own formulas, the workbook's cycle
broken. tests/test_packaging.py fails at the first byte that differs from what plain
xlsxwriter writes, so an xlsxwriter release that changes those internals is caught.

Package parts: parts that come out the same are rendered once.

A month's scorecards differ in their sheet and shared strings only; the other
eight parts of each file (styles, theme, workbook, properties, relationships,
content types) are the same bytes for every agent. xlsxwriter lets a workbook
choose its packager (``Workbook._get_packager``); :class:`Workbook` uses one
that keeps each such part, keyed by everything xlsxwriter renders it from, and
reuses it when the key recurs. A workbook with charts, images, comments, tables,
macros or custom properties is packaged as usual. The result is byte for byte
what xlsxwriter writes itself (tests/test_outputs.py compares them).
"""

from __future__ import annotations

import functools
import io
import math
import os
import re
import shutil
import zipfile
from collections.abc import Sequence
from io import StringIO
from pathlib import Path
from typing import NamedTuple

import xlsxwriter
import xlsxwriter.utility
import xlsxwriter.worksheet
from xlsxwriter.format import Format
from xlsxwriter.packager import Packager

_SCALARS = (str, int, float, bool, type(None))
_PER_FILE = {"filename", "fileclosed"}
_BOOK_PARTS = ("_write_content_types_file", "_write_root_rels_file", "_write_workbook_rels_file",
               "_write_theme_file", "_write_core_file", "_write_app_file")


class Parts:
    """Rendered package parts, by part writer and key, shared by the workbooks of a run."""

    def __init__(self) -> None:
        self.kept: dict[tuple, list[tuple[str, str, bool]]] = {}




class _ReusingPackager(Packager):
    """Writes each part as usual the first time its key is seen, then copies it.

    Writing the workbook part also prepares the formats the styles part shows, so a
    copied workbook part still prepares them, and the styles key is taken when that
    part is due (the others' once, at the start)."""

    def __init__(self, parts: Parts):
        super().__init__()
        self._parts = parts

    def _create_package(self):
        book = _plain_book_key(self.workbook)
        if book is not None:
            for name in _BOOK_PARTS:
                setattr(self, name, _reusing(self, getattr(self, name), name, lambda workbook: book))
            self._write_workbook_file = _reusing(self, self._write_workbook_file, "workbook", lambda workbook: book,
                                                 self.workbook._prepare_format_properties)
            self._write_styles_file = _reusing(self, self._write_styles_file, "styles", _styles_key)
        try:
            return super()._create_package()
        finally:  # the replacements refer to this packager: without them, no cycle keeps it (and its workbook)
            for name in (*_BOOK_PARTS, "_write_workbook_file", "_write_styles_file"):
                self.__dict__.pop(name, None)


def _reusing(packager: _ReusingPackager, write, name: str, key_of, also=lambda: None):
    """``write`` (a part writer of ``packager``) replaced by a copy of its output (and ``also``,
    its side effect) when ``key_of(workbook)``, taken when the part is due, was seen before."""
    def reuse() -> None:
        try:
            key = (name, key_of(packager.workbook))
        except AttributeError:  # an xlsxwriter this was not made for: write as usual
            write()
            return
        kept = packager._parts.kept.get(key)
        if kept is not None:
            also()
            packager.filenames.extend((StringIO(text), part, binary) for text, part, binary in kept)
            return
        before = len(packager.filenames)
        write()
        packager._parts.kept[key] = [(f.getvalue(), part, binary) for f, part, binary in packager.filenames[before:]]
    return reuse


def _plain_book_key(workbook) -> tuple | None:
    """The key of the workbook-level parts of a workbook holding worksheets only (no chart,
    image, comment, table, macro...); None otherwise, or for an xlsxwriter without one of
    the attributes looked at here (then nothing is reused)."""
    try:
        return _book_key(workbook) if _only_sheets(workbook) else None
    except AttributeError:
        return None


def _only_sheets(workbook) -> bool:
    return not (workbook.charts or workbook.drawings or workbook.custom_properties or workbook.image_types
                or workbook.vba_project or workbook.has_metadata or workbook.num_vml_files
                or workbook.num_comment_files or workbook.embedded_images.has_images()
                or workbook._has_feature_property_bags()
                or any(sheet.is_chartsheet or sheet.tables for sheet in workbook.worksheets()))


def _book_key(workbook) -> tuple:
    """What the workbook-level parts are made of: settings, names, sheets, properties, theme."""
    settings = tuple(sorted((k, v) for k, v in vars(workbook).items() if isinstance(v, _SCALARS) and k not in _PER_FILE))
    return (settings, repr(workbook.defined_names), repr(workbook.named_ranges),
            repr(sorted(workbook.doc_properties.items())), tuple((s.name, s.hidden) for s in workbook.worksheets()),
            bool(workbook.str_table.count), workbook.worksheet_meta.activesheet, workbook.worksheet_meta.firstsheet,
            workbook.theme_xml)


def _styles_key(workbook) -> tuple:
    """What the styles part is made of: the formats used, in the order they were first used."""
    return (tuple(f._get_format_key() for f in workbook.xf_formats),
            tuple(f._get_format_key() for f in workbook.dxf_formats), workbook.font_count, repr(workbook.num_formats),
            workbook.border_count, workbook.fill_count, repr(workbook.custom_colors), repr(workbook.palette),
            workbook.has_comments)


# ------------------------------------------------------------------ worksheet and workbook
class Worksheet(xlsxwriter.worksheet.Worksheet):
    """xlsxwriter's worksheet, quicker with kpi's own formulas (:mod:`kpi.io.writers.formulas`)
    and with whole rows (:meth:`write_cells`), able to take its XML from an earlier file,
    and writing text shaped like rich-text XML as text.

    Before storing a formula xlsxwriter tries 29 rewrites, one per dynamic-array function
    that Excel stores with a ``_xlfn.`` prefix; for the payroll's pay formula that is a
    third of the file's time. A formula whose functions are all in :data:`PLAIN_FUNCTIONS`
    needs none of them (tests/test_outputs.py checks the bytes are the same); any other
    goes through xlsxwriter's own preparation."""

    reused: tuple[Path, str] | None = None  # (workbook, part) of an earlier file holding this sheet's XML

    def _assemble_xml_file(self) -> None:
        """The sheet's XML: as assembled by xlsxwriter, or copied from :attr:`reused` when an
        earlier file holds it (:mod:`kpi.io.writers.team_summary`); its temp row data then goes."""
        if self.reused is None:
            super()._assemble_xml_file()
            return
        if self.constant_memory:
            self._opt_close()
            os.unlink(self.row_data_filename)
        path, part = self.reused
        with zipfile.ZipFile(path) as package, package.open(part) as source:
            shutil.copyfileobj(io.TextIOWrapper(source, encoding="utf-8"), self.fh)
        self._xml_close()

    def _prepare_formula(self, formula, expand_future_functions=False):
        if not expand_future_functions and _plain(formula):
            return formula[1:] if formula.startswith("=") else formula
        return super()._prepare_formula(formula, expand_future_functions)

    def _write_string(self, row, col, string, cell_format=None):
        """Text is text: xlsxwriter takes a string shaped like ``<r>…</r>`` for rich-text XML
        and writes it unescaped (an agent named ``<r><t>X</t></r>`` would show as ``X``, or
        break the file). Such a string goes in as plain runs, which read as the same text."""
        if isinstance(string, str) and string.startswith("<r>") and string.endswith("</r>"):
            runs = (string[:1], string[1:2], string[2:])  # xlsxwriter wants three pieces at least
            return self._write_rich_string(row, col, *runs, *([cell_format] if cell_format else []))
        return super()._write_string(row, col, string, cell_format)

    def write_cells(self, row: int, cells: Sequence[tuple[int, str | float | Formula, Format | None]]) -> None:
        """A whole row of a streamed sheet at once: ``cells`` are (column, value, format) in column
        order, a value being text, a number or a :class:`Formula`.

        The XML is what ``write_string`` / ``write_number`` / ``write_formula`` of each cell
        give (tests/test_outputs.py compares the bytes), without their bookkeeping per cell,
        which is most of the time of a payroll or summary with a row per agent. A row holding
        a number that is not finite or a formula that needs xlsxwriter's rewriting goes
        through those calls instead."""
        self._check_row(row, [col for col, _, _ in cells[:1] + cells[-1:]])
        if not cells:
            return
        self._write_single_row(row)  # first the row before, which xlsxwriter holds until a later one comes
        number = str(row + 1)
        xml = [self._cell_xml(col, number, value, cell_format) for col, value, cell_format in cells]
        if None in xml:
            self._write_each(row, cells)
            return
        self._write_row(row, None)
        self.fh.write("".join(xml))
        self._xml_end_tag("row")

    def write_values(self, row: int, layout: Layout, values: Sequence[str | float | Formula]) -> None:
        """:meth:`write_cells` for a row of ``layout``, ``values`` in its column order."""
        if len(values) != len(layout.columns):
            raise ValueError(f"write_values: {len(values)} values for the {len(layout.columns)} columns of the layout")
        self.write_cells(row, list(zip(layout.columns, values, layout.formats)))

    def _as_written(self, text: str) -> bool:
        """Whether ``text`` goes into the XML as it is: nothing to escape, truncate or keep the
        spaces of (the usual name or id)."""
        return (len(text) <= self.xls_strmax // 2 and _PLAIN_TEXT.fullmatch(text) is not None
                and not (text[:1].isspace() or text[-1:].isspace()))

    def _formula_text(self, formula: Formula) -> str | None:
        """A formula's text as the XML holds it, if only kpi's preparation is needed (functions of
        :data:`PLAIN_FUNCTIONS`) and its value is a number; else None."""
        if _plain(formula.text) and formula.value.__class__ in (float, int):
            return self._escape_data(self._prepare_formula(formula.text))
        return None

    def _check_row(self, row: int, ends: Sequence[int]) -> None:
        """What a whole row needs: a later row of a streamed sheet, without row options, its first
        and last cells (``ends``) inside the sheet."""
        if not self.constant_memory or row <= self.previous_row or row in self.row_info or row in self.comments:
            raise ValueError(f"write_cells: row {row} must be a later row of a streamed sheet, without row options")
        for col in ends:
            if self._check_dimensions(row, col):
                raise ValueError(f"write_cells: cell ({row}, {col}) is outside the sheet")

    def _write_each(self, row: int, cells) -> None:
        for col, value, cell_format in cells:
            if isinstance(value, Formula):
                self.write_formula(row, col, value.text, cell_format, value.value)
            elif isinstance(value, str):
                self.write_string(row, col, value, cell_format)
            else:
                self.write_number(row, col, value, cell_format)

    def _cell_xml(self, col: int, number: str, value, cell_format) -> str | None:
        """One ``<c>`` element as xlsxwriter's ``_write_cell`` renders it in a streamed sheet
        (``number``: the row's, as Excel counts), or None if only xlsxwriter's own calls can."""
        column, style = self._heads.get((col, id(cell_format))) or self._head(col, cell_format)
        kind = value.__class__
        if kind is float or kind is int:
            return f'{column}{number}{style}><v>{value:.16G}</v></c>' if math.isfinite(value) else None
        if kind is str:
            text, space = self._text(value)
            return f'{column}{number}{style} t="inlineStr"><is><t{space}>{text}</t></is></c>'
        formula = self._formula_text(value) if kind is Formula else None
        return None if formula is None else f'{column}{number}{style}><f>{formula}</f><v>{value.value}</v></c>'

    @functools.cached_property
    def _heads(self) -> dict[tuple[int, int], tuple[str, str]]:
        return {}

    def _head(self, col: int, cell_format) -> tuple[str, str]:
        """``<c r="D`` and ``" s="5"`` of the cells of column ``col`` in ``cell_format``, the
        style numbered on first use; without a format, the column's as it is now (as in
        xlsxwriter, so that one is not remembered)."""
        if cell_format is None:
            info = self.col_info.get(col)
            column_format = info.column_format if info is not None else None
            return f'<c r="{_column_name(col)}', '"' if column_format is None else f'" s="{column_format._get_xf_index()}"'
        head = self._heads[col, id(cell_format)] = (f'<c r="{_column_name(col)}', f'" s="{cell_format._get_xf_index()}"')
        return head

    def _text(self, value: str) -> tuple[str, str]:
        """An inline string's escaped text and its whitespace attribute, as xlsxwriter makes them."""
        if self._as_written(value):
            return value, ""
        if len(value) > self.xls_strmax // 2 and xlsxwriter.utility._utf16_len(value) > self.xls_strmax:
            value = xlsxwriter.utility._utf16_truncate(value, self.xls_strmax)
        value = self._escape_control_characters(value)
        space = ' xml:space="preserve"' if xlsxwriter.utility._preserve_whitespace(value) else ""
        return self._escape_data(value), space


class Layout(NamedTuple):
    """Where the cells of rows that all look alike go (:meth:`Worksheet.write_values`): their
    columns, in order, and formats."""

    columns: tuple[int, ...]
    formats: tuple[Format | None, ...]


class Formula(NamedTuple):
    """A formula cell for :meth:`Worksheet.write_cells`: its text and the value kpi computed."""

    text: str
    value: float


@functools.cache
def _column_name(col: int) -> str:
    return xlsxwriter.utility.xl_col_to_name(col)


PLAIN_FUNCTIONS = frozenset({"ROUND", "ROUNDDOWN", "ROUNDUP", "SUM", "AND"})
_FUNCTION = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\(")
_NO_BRACES_OR_TEXT = re.compile(r"[^{}\"']*")
# Text xlsxwriter writes as it is: no XML markup, control character or _xHHHH_ escape to handle.
_PLAIN_TEXT = re.compile("[^\x00-\x08\x0b-\x1f&<>_\ufffe\uffff]*")


def _plain(formula: str) -> bool:
    """Whether ``formula`` (no array braces, no text) calls only functions of PLAIN_FUNCTIONS."""
    return bool(_NO_BRACES_OR_TEXT.fullmatch(formula)) and all(
        name in PLAIN_FUNCTIONS for name in _FUNCTION.findall(formula))


class Workbook(xlsxwriter.Workbook):
    """xlsxwriter's workbook, which lets its cells go as soon as it is closed.

    Each xlsxwriter worksheet keeps its workbook's ``add_format``, and the workbook keeps
    its worksheets: a cycle, which only Python's garbage collector frees. Until it runs,
    every cell of the file stays in memory and each collection walks them again; over a
    month's thousands of scorecards that was a tenth of the run. Without the workbook's
    sheets there is no cycle, and the file's objects are freed when the writer returns."""

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.worksheets_objs, self.sheetnames = [], {}


class SharingWorkbook(Workbook):
    """A :class:`Workbook` that reuses the package parts kept in ``parts``."""

    def __init__(self, filename: str, options: dict, parts: Parts):
        super().__init__(filename, options)
        self._parts = parts

    def _get_packager(self) -> Packager:
        return _ReusingPackager(self._parts)
