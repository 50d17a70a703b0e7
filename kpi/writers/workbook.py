"""What every workbook kpi writes shares: safe options, fixed metadata, the rules line."""

from __future__ import annotations

import datetime
from pathlib import Path

import xlsxwriter

from kpi import i18n, rules
from kpi.writers import packaging

# Text stays text (never a formula or a number), and no temp file per XML part.
OPTIONS = {"strings_to_formulas": False, "strings_to_numbers": False, "in_memory": True}


def new(path: Path, period: str, title: str, parts: packaging.Parts | None = None) -> xlsxwriter.Workbook:
    """A workbook with kpi's options and fixed document metadata, so the same input gives the same bytes;
    with ``parts``, package parts already rendered for an earlier workbook of the run are reused."""
    workbook = xlsxwriter.Workbook(str(path), OPTIONS) if parts is None else packaging.Workbook(str(path), OPTIONS, parts)
    year, month = (int(part) for part in period.split("-"))
    workbook.set_properties({"title": title, "author": "kpi", "created": datetime.datetime(year, month, 1)})
    return workbook


def version_text(ruleset: rules.Ruleset, lang: str) -> str:
    """``规则版本: 考核表 2020-01 起,薪资表 2020-01 起,sha256 …`` for a sheet's foot or head."""
    version = ruleset.version
    value = i18n.text("rules_version_value", lang, weights=version.weights_effective,
                      pay=version.pay_bands_effective, sha=version.sha256[:12])
    return f"{i18n.text('rules_version', lang)}: {value}"
