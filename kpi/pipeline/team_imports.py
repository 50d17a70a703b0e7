"""The platform import in the web workspace: a supervisor's exports into their team's sheet.

The same steps as ``kpi import`` (:func:`kpi.pipeline.intake.plan`, then
:func:`kpi.pipeline.intake.apply`) over a workbook held as bytes: the fill-in workbook the
supervisor uploads with the exports, else their team's latest stored sheet
(:mod:`kpi.pipeline.team_sheets`). A preview fills a copy and checks it like any uploaded
sheet; nothing reaches the ledger until the supervisor applies the preview, which stores
the filled workbook as the team's new sheet (:func:`kpi.pipeline.team_sheets.upload`, checked
again). Between the two requests the previewed workbook waits in a staging folder under
a random token, for its owner only, for an hour at most.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from kpi.core import rules
from kpi.core.errors import InputError, InputProblem
from kpi.io.writers import safe
from kpi.ledger.db import Ledger
from kpi.ledger.revisions import ReviewError
from kpi.pipeline import intake, team_sheets

STAGED_FOR = 3600          # seconds a preview may wait for its apply
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


class Upload(NamedTuple):
    """A file as the browser sent it."""

    name: str
    content: bytes


class Preview(NamedTuple):
    """An import worked out and not stored: the plan (the same record ``kpi import`` renders),
    the workbook it filled, and what the check of the filled workbook still finds."""

    plan: intake.Plan
    team: str
    file_name: str                  # the workbook filled: the one uploaded, or the stored sheet's
    base_id: int | None             # the stored sheet filled (None: a workbook uploaded with the exports)
    filled: bytes                   # the workbook as the import filled it
    problems: list[InputProblem]    # the check of the filled workbook (empty: it can be stored)


class Staged(NamedTuple):
    """A preview waiting for its apply."""

    token: str
    owner: str
    period: str
    team: str
    file_name: str
    base_id: int | None
    filled: bytes
    cells: int
    agents: int


def base_sheet(ledger: Ledger, period: str, team: str) -> tuple[Upload, int] | None:
    """The team's latest stored sheet of the month (its bytes and id), if any."""
    for sheet in team_sheets.latest(ledger, period):
        if sheet.team == team:
            content = ledger.rows("SELECT content FROM sheets WHERE id = ?", sheet.id)[0]["content"]
            return Upload(sheet.file_name, content), sheet.id
    return None


def preview(ledger: Ledger, ruleset: rules.Ruleset, config_dir, lang: str, team: str, exports: Sequence[Upload],
            workbook: Upload | None, teams: Sequence[str]) -> Preview:
    """Import ``exports`` into ``workbook`` (else ``team``'s stored sheet) for ``ruleset.period``.

    Raises InputError listing every problem of every export (as ``kpi import`` does), or
    when there is no workbook to fill; ProfileError for a broken profile. The filled
    workbook is checked like an upload by a supervisor of ``teams``."""
    base_id = None
    if workbook is None:
        found = base_sheet(ledger, ruleset.period, team)
        if found is None:
            raise InputError([InputProblem("", "", team, "", "web_import_no_sheet", (("team", team),))])
        workbook, base_id = found
    with tempfile.TemporaryDirectory(prefix="kpi-import-") as folder:
        root = Path(folder)
        paths = []
        for index, export in enumerate(exports, start=1):
            path = root / f"{index:02d}" / _name(export.name)   # the file name says what the export is
            path.parent.mkdir()
            path.write_bytes(export.content)
            paths.append(path)
        sheet_path = root / "sheet" / _name(workbook.name)
        sheet_path.parent.mkdir()
        sheet_path.write_bytes(workbook.content)
        plan = intake.plan(paths, sheet_path, ruleset, config_dir, lang, ledger)
        out = intake.apply(plan, root / "filled.xlsx", editable=False)
        problems: list[InputProblem] = []
        try:
            team_sheets.check(out, ruleset, teams)
        except InputError as error:
            problems = list(error.problems)
        filled = out.read_bytes()
    return Preview(plan, team, Path(workbook.name).name, base_id, filled, problems)


def _name(name: str) -> str:
    return safe.filename(Path(name).name)


def store(ledger: Ledger, ruleset: rules.Ruleset, staged: Staged, teams: Sequence[str]) -> list[team_sheets.Sheet]:
    """Store a staged preview as the team's new sheet (checked again, as every upload is).

    A sheet stored for the team since the preview is not overwritten: ReviewError."""
    if staged.base_id is not None:
        now = base_sheet(ledger, ruleset.period, staged.team)
        if now is None or now[1] != staged.base_id:
            raise ReviewError("web_import_sheet_changed", team=staged.team)
    stored = team_sheets.upload(ledger, ruleset, staged.file_name, staged.filled, teams)
    with ledger.write() as db:
        ledger.audit(db, "import", ruleset.period, {"team": staged.team, "cells": staged.cells,
                                                     "agents": staged.agents,
                                                     "sha256": hashlib.sha256(staged.filled).hexdigest()})
    return stored


# ------------------------------------------------------------------ between preview and apply
def stage(folder: str | Path, owner: str, period: str, found: Preview) -> str:
    """Keep a preview for its apply; returns the token that names it (old ones are removed)."""
    folder = Path(folder)
    _sweep(folder)
    token = secrets.token_urlsafe(24)
    place = folder / token
    place.mkdir(parents=True, mode=0o700)
    (place / "filled.xlsx").write_bytes(found.filled)
    meta = {"owner": owner, "period": period, "team": found.team, "file_name": found.file_name,
            "base_id": found.base_id, "cells": len(found.plan.writes), "agents": found.plan.agents}
    (place / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return token


def staged(folder: str | Path, token: str, owner: str, period: str) -> Staged | None:
    """The preview ``token`` names, if it is ``owner``'s, of ``period`` and not expired."""
    if not isinstance(token, str) or not TOKEN.match(token):
        return None
    place = Path(folder) / token
    try:
        meta = json.loads((place / "meta.json").read_text(encoding="utf-8"))
        if time.time() - (place / "meta.json").stat().st_mtime > STAGED_FOR:
            return None
        filled = (place / "filled.xlsx").read_bytes()
    except (OSError, ValueError):
        return None
    if meta.get("owner") != owner or meta.get("period") != period:
        return None
    return Staged(token, owner, period, meta["team"], meta["file_name"], meta["base_id"], filled, meta["cells"],
                  meta["agents"])


def discard(folder: str | Path, token: str) -> None:
    """Forget a staged preview (once applied)."""
    if TOKEN.match(token):
        shutil.rmtree(Path(folder) / token, ignore_errors=True)


def _sweep(folder: Path) -> None:
    if not folder.is_dir():
        return
    for place in folder.iterdir():
        try:
            if time.time() - place.stat().st_mtime > STAGED_FOR:
                shutil.rmtree(place, ignore_errors=True)
        except OSError:
            continue
