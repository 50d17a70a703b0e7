"""Reading an input file into a :class:`kpi.inputs.Grid` (an edge: file I/O).

``.xlsx`` is read with openpyxl (read-only, cached values); ``.csv`` is decoded
as UTF-8 (with or without BOM) or, failing that, GB18030, a superset of the GBK
that Excel on a Chinese Windows saves. Anything unreadable becomes an
:class:`kpi.errors.InputError` with one problem that says why.

XML entity attacks: expat 2.4.1 and later refuses entity expansion beyond a
fixed amplification (billion laughs, quadratic blowup) and ElementTree never
fetches external entities, so openpyxl's stdlib parser is safe and about twice
as fast as defusedxml's pure-Python one. With an older expat a workbook is
read only if defusedxml is installed (openpyxl then parses with it).
"""

from __future__ import annotations

import csv
import functools
import io
import pyexpat
import zipfile
import zlib
from xml.etree import ElementTree
from pathlib import Path
from typing import NamedTuple

import openpyxl
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from kpi import returned, workers
from kpi.errors import InputError, InputProblem
from kpi.inputs import Grid

OLE2_MAGIC = b"\xd0\xcf\x11\xe0"     # old .xls, and encrypted .xlsx (an OLE2 container)
MAX_UNPACKED = 1 << 30                 # a workbook unpacking to more than 1 GiB is refused
MAX_RATIO, RATIO_FROM = 100, 50 << 20  # so is a part over 50 MiB packed more than 100 : 1
INPUT_SHEETS = ("填报表", "input", "Input")
SAFE_EXPAT = (2, 4, 1)                 # the first expat that limits entity amplification
REFUSED_XML = {43, 11}                 # expat: amplification limit breached; undefined (e.g. external) entity


def read(path: str | Path, prefetch: bool = False) -> Grid:
    """The grid of ``path``; raises InputError when the file cannot be read.

    ``prefetch``: a workbook's rows are read by another process while this one uses them."""
    path = Path(path)
    head = _head(path)
    suffix = path.suffix.lower()
    if suffix == ".xls" or (suffix != ".xlsx" and head.startswith(OLE2_MAGIC)):
        raise _unreadable(path, "old_xls")
    if suffix == ".xlsx" and head.startswith(OLE2_MAGIC):
        raise _unreadable(path, "encrypted")
    if suffix == ".xlsx":
        return _read_xlsx(path, prefetch)
    if suffix in (".csv", ".txt"):
        return _read_csv(path)
    raise _unreadable(path, "unsupported_format")


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
    wraps the error in (expat's ParseError; defusedxml's own exceptions where it is used)."""
    while error is not None:
        if (isinstance(error, ElementTree.ParseError) and error.code in REFUSED_XML
                or type(error).__module__.startswith("defusedxml")):
            return True
        error = error.__cause__ or error.__context__
    return False


def _read_xlsx(path: Path, prefetch: bool) -> Grid:
    book = _open_workbook(path, read_only=True, data_only=True)
    sheet = next((book[name] for name in INPUT_SHEETS if name in book.sheetnames), book.worksheets[0])
    rows = _rows_read_elsewhere(path, book, sheet) if prefetch else _xlsx_rows(path, book, sheet)
    size = sheet.max_row if isinstance(sheet.max_row, int) and sheet.max_row > 0 else None
    return Grid(source=path.name, rows=rows, where=_locator(sheet.title),
                formula=_formula_lookup(path, sheet.title), typed=True, size=size, period=_period_of(book))


def _period_of(book) -> str | None:
    """The month a kpi workbook says it is for (its defined name ``kpi_period``), else None."""
    try:
        defined = book.defined_names.get("kpi_period")
    except Exception:  # an odd names table only loses the check
        return None
    if defined is None or not defined.value:
        return None
    return defined.value.strip().lstrip("=").strip('"') or None


def _xlsx_rows(path: Path, book, sheet):
    """Rows with their numbers; a damaged sheet stops with an InputError."""
    try:
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, values
    except InputError:
        raise
    except Exception as error:
        raise _damaged(path, error) from None
    finally:
        book.close()


def _rows_read_elsewhere(path: Path, book, sheet):
    """The rows, read by another process; this one's handle on the workbook closes at the end."""
    try:
        yield from workers.stream(lambda: _xlsx_rows(path, book, sheet))
    finally:
        book.close()


def _formula_lookup(path: Path, title: str):
    """``formula(row, col)``: the formula text of a cell, read on first use only.

    Reading cached values hides whether an empty cell holds a formula that was
    never calculated (a file written by a program, not saved by Excel); this
    second, lazy look tells the supervisor which.
    """
    formulas = functools.cache(lambda: _formulas(path, title))
    return lambda row, col: formulas().get((row, col))


def _formulas(path: Path, title: str) -> dict[tuple[int, int], str]:
    try:
        book = _open_workbook(path, read_only=True, data_only=False)
        try:
            return {(cell.row, cell.column - 1): cell.value for row in book[title].iter_rows() for cell in row
                    if isinstance(cell.value, str) and cell.value.startswith("=")}
        finally:
            book.close()
    except Exception:  # the first read succeeded; a failure here only loses the hint
        return {}


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


def _read_csv(path: Path) -> Grid:
    text = decode(path.read_bytes())
    if text is None or "\x00" in text:
        raise _unreadable(path, "not_text")
    first_line = text.split("\n", 1)[0]
    dialect = csv.excel_tab if "\t" in first_line and "," not in first_line else csv.excel
    rows = list(csv.reader(io.StringIO(text, newline=""), dialect))
    return Grid(source=path.name, rows=enumerate(rows, start=1), where=_locator(path.name))


# ------------------------------------------------------------------ returned scorecards
def read_scorecard(path: str | Path, password: str | None = None) -> returned.ReturnedCard:
    """A returned scorecard, read bounded (:mod:`kpi.returned`); raises InputError when it
    is not one kpi wrote. An encrypted card (``kpi score --encrypt``) is opened with
    ``password``, in memory."""
    path = Path(path)
    head = _head(path)
    if path.suffix.lower() != ".xlsx":
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
