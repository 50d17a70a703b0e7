"""What every workbook kpi writes shares: safe options, fixed metadata, the rules line."""

from __future__ import annotations

import datetime
import io
import os
import re
import shutil
import zipfile
from pathlib import Path

import xlsxwriter
import xlsxwriter.worksheet

from kpi import i18n, rules
from kpi.writers import packaging

# Text stays text (never a formula or a number), and no temp file per XML part.
OPTIONS = {"strings_to_formulas": False, "strings_to_numbers": False, "in_memory": True}
# A sheet with a row per agent of the month goes to a temp file row by row: memory stays
# flat however many agents (rows must then be written in order).
STREAMING = {"strings_to_formulas": False, "strings_to_numbers": False, "constant_memory": True}


class Worksheet(xlsxwriter.worksheet.Worksheet):
    """xlsxwriter's worksheet, quicker with kpi's own formulas (:mod:`kpi.writers.formulas`)
    and able to take its XML from an earlier file.

    Before storing a formula xlsxwriter tries 29 rewrites, one per dynamic-array function
    that Excel stores with a ``_xlfn.`` prefix; for the payroll's pay formula that is a
    third of the file's time. A formula whose functions are all in :data:`PLAIN_FUNCTIONS`
    needs none of them (tests/test_outputs.py checks the bytes are the same); any other
    goes through xlsxwriter's own preparation."""

    reused: tuple[Path, str] | None = None  # (workbook, part) of an earlier file holding this sheet's XML

    def _assemble_xml_file(self) -> None:
        """The sheet's XML: as assembled by xlsxwriter, or copied from :attr:`reused` when an
        earlier file holds it (:mod:`kpi.writers.team_summary`); its temp row data then goes."""
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


PLAIN_FUNCTIONS = frozenset({"ROUND", "ROUNDDOWN", "ROUNDUP", "SUM", "AND"})
_FUNCTION = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\(")
_NO_BRACES_OR_TEXT = re.compile(r"[^{}\"']*")


def _plain(formula: str) -> bool:
    """Whether ``formula`` (no array braces, no text) calls only functions of PLAIN_FUNCTIONS."""
    return bool(_NO_BRACES_OR_TEXT.fullmatch(formula)) and all(
        name in PLAIN_FUNCTIONS for name in _FUNCTION.findall(formula))


def new(path: Path, period: str, title: str, parts: packaging.Parts | None = None,
        streaming: bool = False) -> xlsxwriter.Workbook:
    """A workbook with kpi's options and fixed document metadata, so the same input gives the same bytes;
    with ``parts``, package parts already rendered for an earlier workbook of the run are reused;
    ``streaming`` for a workbook with a row per agent of the month."""
    options = STREAMING if streaming else OPTIONS
    workbook = xlsxwriter.Workbook(str(path), options) if parts is None else packaging.Workbook(str(path), options, parts)
    workbook.worksheet_class = Worksheet
    year, month = (int(part) for part in period.split("-"))
    workbook.set_properties({"title": title, "author": "kpi", "created": datetime.datetime(year, month, 1)})
    return workbook


def version_text(ruleset: rules.Ruleset, lang: str) -> str:
    """``规则版本: 考核表 2020-01 起,薪资表 2020-01 起,sha256 …`` for a sheet's foot or head."""
    version = ruleset.version
    value = i18n.text("rules_version_value", lang, weights=version.weights_effective,
                      pay=version.pay_bands_effective, sha=version.sha256[:12])
    return f"{i18n.text('rules_version', lang)}: {value}"
