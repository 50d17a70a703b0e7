"""Packaging many similar workbooks: parts that come out the same are rendered once.

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

from io import StringIO

import xlsxwriter
from xlsxwriter.packager import Packager

_SCALARS = (str, int, float, bool, type(None))
_PER_FILE = {"filename", "fileclosed"}
_BOOK_PARTS = ("_write_content_types_file", "_write_root_rels_file", "_write_workbook_rels_file",
               "_write_theme_file", "_write_core_file", "_write_app_file")


class Parts:
    """Rendered package parts, by part writer and key, shared by the workbooks of a run."""

    def __init__(self) -> None:
        self.kept: dict[tuple, list[tuple[str, str, bool]]] = {}


class Workbook(xlsxwriter.Workbook):
    """An xlsxwriter workbook that reuses the package parts kept in ``parts``."""

    def __init__(self, filename: str, options: dict, parts: Parts):
        super().__init__(filename, options)
        self._parts = parts

    def _get_packager(self) -> Packager:
        return _ReusingPackager(self._parts)


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
