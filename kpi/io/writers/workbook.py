"""What every workbook kpi writes shares: safe options, fixed metadata, the rules line."""

from __future__ import annotations

import datetime
import functools
import io
import math
import os
import re
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import xlsxwriter
import xlsxwriter.utility
import xlsxwriter.worksheet
from xlsxwriter.format import Format

from kpi.core import i18n, rules
from kpi.core.period import Period
from kpi.io.writers import packaging

# Text stays text (never a formula, a number or a link), and no temp file per XML part.
TEXT = {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}
OPTIONS = {**TEXT, "in_memory": True}
# A sheet with a row per agent of the month goes to a temp file row by row: memory stays
# flat however many agents (rows must then be written in order).
STREAMING = {**TEXT, "constant_memory": True}


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
        """:meth:`write_cells` for a row of ``layout``, ``values`` in its column order: the rows
        of a payroll or a summary all look alike, so the XML of such a row is made once per
        layout and kinds of value (with blanks for the row number and values) and filled in.
        A row with a value the blanks cannot take as it is (text to escape, a number that is
        not finite, another kind of formula) goes through :meth:`write_cells`."""
        if len(values) != len(layout.columns):
            raise ValueError(f"write_values: {len(values)} values for the {len(layout.columns)} columns of the layout")
        kinds = tuple(map(type, values))
        positions = _positions(kinds)
        formulas = None if positions is None or None in layout.formats else self._as_is(values, *positions)
        if formulas is None:
            self.write_cells(row, list(zip(layout.columns, values, layout.formats)))
            return
        self._check_row(row, (layout.columns[0], layout.columns[-1]))
        self._write_single_row(row)
        template = self._templates.get((layout, kinds)) or self._template(layout, kinds)
        self._write_row(row, None)
        self.fh.write(template.format(row + 1, *values, *formulas))
        self._xml_end_tag("row")

    def _as_is(self, values: Sequence, texts: Sequence[int], numbers: Sequence[int],
               formulas: Sequence[int]) -> list[str] | None:
        """The prepared texts of the formulas among ``values`` (at ``formulas``) if every value
        can fill its blank as it is: text with nothing to escape or keep spaces of (at
        ``texts``), finite numbers (at ``numbers``: their sum is finite), formulas of
        :data:`PLAIN_FUNCTIONS` with a number for value. Else None."""
        if not all(map(self._as_written, map(values.__getitem__, texts))):
            return None
        if numbers and not math.isfinite(sum(map(values.__getitem__, numbers))):
            return None
        prepared = [self._formula_text(formula) for formula in map(values.__getitem__, formulas)]
        return None if None in prepared else prepared

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

    @functools.cached_property
    def _templates(self) -> dict[tuple[Layout, tuple[type, ...]], str]:
        return {}

    def _template(self, layout: Layout, kinds: tuple[type, ...]) -> str:
        """The ``<c>`` elements of a row of ``layout`` holding values of ``kinds``, as
        :meth:`_cell_xml` renders them, with blanks for :meth:`write_values` to fill: ``{0}``
        the row number, ``{1}`` … the values, then the prepared text of each formula."""
        parts, prepared = [], len(kinds) + 1
        for blank, (col, cell_format, kind) in enumerate(zip(layout.columns, layout.formats, kinds), start=1):
            column, style = self._heads.get((col, id(cell_format))) or self._head(col, cell_format)
            if kind is str:
                parts.append(f'{column}{{0}}{style} t="inlineStr"><is><t>{{{blank}}}</t></is></c>')
            elif kind is Formula:
                parts.append(f'{column}{{0}}{style}><f>{{{prepared}}}</f><v>{{{blank}.value}}</v></c>')
                prepared += 1
            else:
                parts.append(f'{column}{{0}}{style}><v>{{{blank}:.16G}}</v></c>')
        template = self._templates[layout, kinds] = "".join(parts)
        return template

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


@functools.lru_cache(maxsize=64)
def _positions(kinds: tuple[type, ...]) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]] | None:
    """Where the texts, numbers and formulas are among values of ``kinds``; None if there are
    values of another kind (or none at all)."""
    found: dict[type, list[int]] = {str: [], float: [], int: [], Formula: []}
    for index, kind in enumerate(kinds):
        if kind not in found:
            return None
        found[kind].append(index)
    numbers = sorted(found[float] + found[int])
    return (tuple(found[str]), tuple(numbers), tuple(found[Formula])) if kinds else None


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
    month's thousands of scorecards that was a tenth of the run (and with the collector
    paused, :func:`kpi.io.workers.collector_paused`, they would pile up). Without the
    workbook's sheets there is no cycle, and the file's objects are freed when the writer
    returns."""

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.worksheets_objs, self.sheetnames = [], {}


class _SharingWorkbook(packaging.Workbook, Workbook):
    """A :class:`Workbook` that reuses package parts already rendered (:mod:`kpi.io.writers.packaging`)."""


def new(path: Path, period: str, title: str, parts: packaging.Parts | None = None,
        streaming: bool = False) -> Workbook:
    """A workbook with kpi's options and fixed document metadata, so the same input gives the same bytes;
    with ``parts``, package parts already rendered for an earlier workbook of the run are reused;
    ``streaming`` for a workbook with a row per agent of the month."""
    options = STREAMING if streaming else OPTIONS
    workbook = Workbook(str(path), options) if parts is None else _SharingWorkbook(str(path), options, parts)
    workbook.worksheet_class = Worksheet
    first = Period(period).first_day
    workbook.set_properties({"title": title, "author": "kpi", "created": datetime.datetime(first.year, first.month, 1)})
    return workbook


def version_text(ruleset: rules.Ruleset, lang: str) -> str:
    """``规则版本: 考核表 2020-01 起,薪资表 2020-01 起,sha256 …`` for a sheet's foot or head."""
    version = ruleset.version
    value = i18n.text("rules_version_value", lang, weights=version.weights_effective,
                      pay=version.pay_bands_effective, sha=version.sha256[:12])
    return f"{i18n.text('rules_version', lang)}: {value}"
