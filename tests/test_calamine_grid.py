"""The grid of a workbook is read with python-calamine and shaped as openpyxl's read-only mode
gives it (kpi.io.readers._calamine_rows): every cell kind, in the same row and column."""

from __future__ import annotations

import datetime
import re
import zipfile

import openpyxl
import pytest
import xlsxwriter

from kpi.core.errors import InputError
from kpi.io import readers


def _openpyxl_rows(path, title):
    """What openpyxl's read-only mode reads (cached values), each row without trailing empties."""
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book[title]
        sheet.reset_dimensions()
        return [_trimmed(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _trimmed(row):
    row = [None if value == "" else value for value in row]
    while row and row[-1] is None:
        row.pop()
    return tuple(row)


def _rewritten(path, part: str, change) -> None:
    """``path`` with its ``part`` changed by ``change(bytes)``, as another program would write it."""
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    parts[part] = change(parts[part])
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)


def _saved(path) -> None:
    """As a spreadsheet saves it: no recalculation pending, so formulas' stored values are read."""
    _rewritten(path, "xl/workbook.xml", lambda data: re.sub(rb'\s*fullCalcOnLoad="1"', b"", data))


def _workbook(path, first_col: int):
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("填报表")
    day, stamp, clock = (book.add_format({"num_format": f}) for f in ("yyyy-mm-dd", "yyyy-mm-dd hh:mm", "hh:mm"))
    c = first_col
    sheet.write_row(2, c, ["工号", "姓名", 1, 1.5, -3, 0.1 + 0.2, 123456789012, 2 ** 53 + 1, 1e20, True, False, "  ", ""])
    sheet.write_datetime(3, c, datetime.datetime(2026, 9, 1), day)
    sheet.write_datetime(3, c + 1, datetime.datetime(2026, 9, 1, 12, 30), stamp)
    sheet.write_datetime(3, c + 2, datetime.time(12, 30), clock)
    sheet.write_formula(3, c + 3, "=1/0", None, "#DIV/0!")
    sheet.write_formula(3, c + 4, '=NA()', None, "#N/A")
    sheet.write_rich_string(3, c + 5, "ab", book.add_format({"bold": True}), "cd")
    sheet.write_string(3, c + 6, "a&b<c>")
    sheet.write_number(6, c + 2, 1001.0)  # rows 5 and 6 empty, row 7 further right
    sheet.write_string(6, c + 20, "far")
    book.close()
    _saved(path)


@pytest.mark.parametrize("first_col", [0, 2])
def test_calamine_reads_the_cells_openpyxl_reads(tmp_path, first_col):
    path = tmp_path / "cells.xlsx"
    _workbook(path, first_col)
    grid = readers.read(path)
    ours = list(grid.rows)
    assert [number for number, _ in ours] == list(range(1, len(ours) + 1))
    assert [_trimmed(values) for _, values in ours] == _openpyxl_rows(path, "填报表")
    row3, row4 = (dict(enumerate(values)) for _, values in ours[2:4])
    c = first_col
    assert [type(row3[c + i]) for i in (2, 4, 6, 7)] == [int, int, int, int]   # whole numbers stay whole
    assert row3[c + 3] == 1.5 and row3[c + 8] == 1e20 and row3[c + 9] is True and row3[c + 11] == "  "
    assert row4[c] == datetime.datetime(2026, 9, 1) and type(row4[c]) is datetime.datetime
    assert row4[c + 2] == datetime.time(12, 30)
    assert (row4[c + 3], row4[c + 4], row4[c + 5], row4[c + 6]) == ("#DIV/0!", "#N/A", "abcd", "a&b<c>")
    assert grid.where(4, c + 3) == f"填报表!{'ABCDEFG'[c + 3]}4"


def test_an_error_value_of_a_saved_formula_is_read_where_it_stands(tmp_path):
    """A file saved by a spreadsheet (no recalculation pending) keeps its formulas' error values."""
    path = tmp_path / "saved.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "填报表"
    sheet["B2"] = "x"
    book.save(path)
    _saved(path)
    _rewritten(path, "xl/worksheets/sheet1.xml", lambda data: data.replace(
        b"</sheetData>", b'<row r="5"><c r="D5" t="e"><f>VLOOKUP(A5,B:B,1,0)</f><v>#N/A</v></c>'
                         b'<c r="E5" t="e"><v>#REF!</v></c><c r="F5" t="e"/></row></sheetData>'))
    rows = dict(readers.read(path).rows)
    assert rows[5][3:5] == ("#N/A", "#REF!") and rows[5][5:6] in ((), (None,))


def test_a_sheet_declaring_entities_is_refused_as_an_xml_attack(tmp_path):
    path = tmp_path / "dtd.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("填报表").write("A1", "x")
    book.close()
    _rewritten(path, "xl/worksheets/sheet1.xml",
               lambda data: b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>' + data.split(b"?>", 1)[1])
    with pytest.raises(InputError) as caught:
        list(readers.read(path).rows)
    assert [p.code for p in caught.value.problems] == ["unsafe_xml"]


def test_a_sheet_spanning_too_many_cells_is_read_row_by_row_by_openpyxl(tmp_path, monkeypatch):
    """calamine holds the whole grid: one stray cell far away (XFD300) would make it allocate
    300 × 16,384 cells (at XFD1048576, 17 billion: the process aborts). Such a sheet is read
    by openpyxl, row by row, with the same values."""
    path = tmp_path / "far.xlsx"
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("填报表")
    sheet.write_row(0, 0, ["工号", "姓名", 1001])
    sheet.write_string(299, 16383, "far")
    book.close()
    facts = readers.sheet_xml.scan(zipfile.ZipFile(path), "xl/worksheets/sheet1.xml")
    assert facts.extent == (300, 16384) and 300 * 16384 > readers.MAX_GRID_CELLS

    def refused(*args, **kwargs):
        raise AssertionError("calamine was asked to hold the whole grid")
    monkeypatch.setattr(readers.python_calamine.CalamineWorkbook, "from_path", refused)
    rows = list(readers.read(path).rows)
    assert rows[0] == (1, ("工号", "姓名", 1001)) and len(rows) == 300 and rows[-1][1][16383] == "far"


def test_the_extent_bounds_cells_without_numbers_and_numbered_beyond_their_row(tmp_path):
    path = tmp_path / "odd.xlsx"
    _workbook(path, 0)
    _rewritten(path, "xl/worksheets/sheet1.xml", lambda data: data.replace(
        b"</sheetData>", b'<row r="9"><c r="B9"><v>1</v></c><c><v>2</v></c><c r="A99999"><v>3</v></c></row>'
                         b'<row><c r="AB11"><v>4</v></c></row></sheetData>'))
    facts = readers.sheet_xml.scan(zipfile.ZipFile(path), "xl/worksheets/sheet1.xml")
    assert facts.extent[0] >= 99999 and facts.extent[1] >= 28


def test_rows_formatted_to_the_end_of_the_sheet_but_empty_are_no_extent(tmp_path, monkeypatch):
    """Formatting whole rows (or clearing a long table) leaves <row r="…" s="1"/> with no cell
    down to row 1,048,576: no cell for calamine to hold, so the grid is read by calamine (the
    extent once counted them, and openpyxl went through a million empty rows: 15 s, 600 MB).
    A hidden empty row still counts as hidden."""
    from helpers import example_rows, write_xlsx
    path = write_xlsx(tmp_path / "styled.xlsx", example_rows())
    styled = b"".join(b'<row r="%d" s="1" customFormat="1" ht="15"/>' % r for r in range(30, 200_001))
    _rewritten(path, "xl/worksheets/sheet1.xml", lambda data: data.replace(
        b"</sheetData>", b'<row r="28" hidden="1"/>' + styled + b"</sheetData>"))
    facts = readers.sheet_xml.scan(zipfile.ZipFile(path), "xl/worksheets/sheet1.xml")
    assert facts.extent[0] == 26 and 28 in facts.hidden_rows

    def row_by_row(*args, **kwargs):
        raise AssertionError("openpyxl was asked to read the rows")
    monkeypatch.setattr(readers.openpyxl.worksheet._read_only.ReadOnlyWorksheet, "iter_rows", row_by_row, raising=False)
    rows = [values for _, values in readers.read(path).rows]
    assert len(rows) == 26 and rows[1][0] == "KF1001"


def test_a_names_phonetic_guide_is_not_part_of_its_text(tmp_path):
    """Excel with an East Asian IME stores the reading of a typed name beside it (``<rPh>``):
    the cell's text is the name alone, as openpyxl reads it."""
    path = tmp_path / "phonetic.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("填报表").write_row(0, 0, ["王伟", "x"])
    book.close()
    _rewritten(path, "xl/sharedStrings.xml", lambda data: data.replace(
        "<si><t>王伟</t></si>".encode(), '<si><t>王伟</t><rPh sb="0" eb="1"><t>wang</t></rPh><phoneticPr fontId="1"/></si>'.encode()))
    assert list(readers.read(path).rows) == [(1, ("王伟", "x"))]
    assert [_trimmed(row) for row in _openpyxl_rows(path, "填报表")] == [("王伟", "x")]
