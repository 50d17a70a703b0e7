"""``kpi import``: platform exports into the month's fill-in workbook (the pipeline).

profiles (config/imports) → each export read (:mod:`kpi.io.readers`) and checked
(:mod:`kpi.core.imports`: the month it covers, not-final cells, values) → the fill-in
workbook opened (:mod:`kpi.io.writers.filled`) → export rows matched to agents by
their 旺旺 accounts → last month's sales from the ledger → a :class:`Plan` that
lists every cell to write and every cell whose value changes. Any problem stops
it before anything is written; :func:`apply` then writes the plan in one go.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from kpi.core import i18n, imports, rules
from kpi.io import profiles, readers
from kpi.ledger import carryover
from kpi.core.agents import AgentInput
from kpi.core.errors import InputError, InputProblem
from kpi.ledger.db import Ledger
from kpi.io.writers import filled


class Read(NamedTuple):
    """An export as read: file, profile label, account rows, fields whose column it lacks."""

    source: str
    profile: profiles.Profile
    rows: int
    absent: tuple[str, ...]


class Plan(NamedTuple):
    """What an import would do; nothing is written until :func:`apply`."""

    sheet: filled.Sheet
    exports: list[Read]
    writes: list[filled.Write]
    changes: list[imports.Change]          # cells holding another value now
    unmatched: list[imports.ExportRow]     # export rows no agent's accounts name
    missing: list[imports.Agent]           # agents no export row names
    from_ledger: tuple[int, str]           # (agents, "2026-08#2") filled from the ledger
    agents: int                            # agents filled from an export
    kept: int = 0                          # cells that already held the value imported
    matched: dict = {}                     # agent id → the export rows matched to them (never mutated)


def plan(export_paths: Sequence[str | os.PathLike], sheet_path: str | os.PathLike, ruleset: rules.Ruleset,
         config_dir: str | os.PathLike | None, lang: str, ledger: Ledger | None = None) -> Plan:
    """The import of ``export_paths`` into the workbook at ``sheet_path`` for ``ruleset.period``.

    Raises :class:`~kpi.io.profiles.ProfileError` for a broken profile and
    :class:`~kpi.core.errors.InputError` listing every problem of every file."""
    known = profiles.load(config_dir, ruleset)
    field_types = {f.id: f.type for f in ruleset.fields}
    problems: list[InputProblem] = []
    exports, rows = [], []
    for path in export_paths:
        try:
            grid = readers.read(path)
        except InputError as error:
            problems.extend(error.problems)
            continue
        export = imports.read_export(grid, known, ruleset.period, field_types)
        problems.extend(export.problems)
        if export.profile is not None:
            exports.append(Read(export.source, export.profile, len(export.rows), export.absent))
            rows.extend(export.rows)
    try:
        sheet = filled.open_sheet(sheet_path, ruleset)
    except InputError as error:
        raise InputError(problems + list(error.problems)) from None
    problems.extend(_sheet_problems(sheet, ruleset))
    agents = [imports.Agent(r.agent_id, r.name, r.accounts) for r in sheet.rows]
    matched = imports.match(rows, agents)
    problems.extend(matched.problems)
    if problems:
        raise InputError(problems)
    writes, changes, kept = _imported(sheet, matched, lang)
    ledger_writes, source = _from_ledger(sheet, ledger, ruleset.period, {(w.row, w.field) for w in writes}, lang)
    return Plan(sheet, exports, writes + ledger_writes, changes, matched.unmatched, matched.missing,
                (len(ledger_writes), source), len(matched.by_agent), kept, matched.by_agent)


def _sheet_problems(sheet: filled.Sheet, ruleset: rules.Ruleset) -> list[InputProblem]:
    found = []
    if sheet.period is not None and sheet.period != ruleset.period:
        found.append(InputProblem("", "", sheet.path.name, "", "import_template_period",
                                  (("found", sheet.period), ("period", ruleset.period))))
    if sheet.accounts_column is None:
        found.append(InputProblem("", "", f"{sheet.title}!1:1", "", "import_no_accounts_column"))
    return found


def _imported(sheet: filled.Sheet, matched: imports.Matched, lang: str):
    """Every cell an export fills, those whose value changes, and how many already hold it."""
    writes, changes, kept = [], [], 0
    for row in sheet.rows:
        values, sources = imports.combined(matched.by_agent.get(row.agent_id, []))
        for field, value in values.items():
            if field not in sheet.columns:
                continue   # the sheet has no column for it: nothing to fill
            old = row.values.get(field)
            writes.append(filled.Write(row.number, field, value, i18n.text("import_note", lang, source=sources[field])))
            if imports.blank(old):
                continue
            if imports.differs(old, value):
                changes.append(imports.Change(row.agent_id, field, sheet.where(row.number, field), old, value,
                                              sources[field]))
            else:
                kept += 1
    return writes, changes, kept


def _from_ledger(sheet: filled.Sheet, ledger: Ledger | None, period: str, taken: set, lang: str):
    """Last month's sales from the ledger, for agents whose cell is empty."""
    field = "sales_last_month"
    if ledger is None or field not in sheet.columns:
        return [], ""
    empty = [AgentInput(r.agent_id, r.name, "", "", {field: None}) for r in sheet.rows
             if imports.blank(r.values.get(field)) and (r.number, field) not in taken]
    rows = {r.agent_id: r.number for r in sheet.rows}
    writes, source = [], ""
    for agent in carryover.fill_from_ledger(ledger, period, empty, field, "sales_actual"):
        if field in agent.filled:
            source = agent.filled[field]
            writes.append(filled.Write(rows[agent.agent_id], field, agent.values[field],
                                       i18n.text("import_note_ledger", lang, source=source)))
    return writes, source


def apply(found: Plan, out_path: str | os.PathLike | None, editable: bool) -> Path:
    """Write the plan into the workbook (at ``out_path``, else back in place); returns where."""
    target = Path(out_path) if out_path else found.sheet.path
    filled.write(found.sheet, found.writes, editable, target)
    return target
