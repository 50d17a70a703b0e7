"""What every workbook kpi writes shares: safe options, fixed metadata, the rules line.

The worksheet and workbook classes kpi writes with live in :mod:`kpi.io.writers.packaging`,
the one module that reaches into xlsxwriter's private API."""

from __future__ import annotations

import datetime
from pathlib import Path

from kpi.core import i18n, rules
from kpi.core.period import Period
from kpi.io.writers import packaging
from kpi.io.writers.packaging import Formula, Layout, Workbook, Worksheet

__all__ = ["Formula", "Layout", "Workbook", "Worksheet", "new", "version_text"]

# Text stays text (never a formula, a number or a link), and no temp file per XML part.
TEXT = {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}
OPTIONS = {**TEXT, "in_memory": True}
# A sheet with a row per agent of the month goes to a temp file row by row: memory stays
# flat however many agents (rows must then be written in order).
STREAMING = {**TEXT, "constant_memory": True}


def new(path: Path, period: str, title: str, parts: packaging.Parts | None = None,
        streaming: bool = False) -> Workbook:
    """A workbook with kpi's options and fixed document metadata, so the same input gives the same bytes;
    with ``parts``, package parts already rendered for an earlier workbook of the run are reused;
    ``streaming`` for a workbook with a row per agent of the month."""
    options = STREAMING if streaming else OPTIONS
    workbook = Workbook(str(path), options) if parts is None else packaging.SharingWorkbook(str(path), options, parts)
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
