"""The teams' sheets of a month, kept in the ledger: each supervisor uploads their own team's,
and the month is scored from the latest sheet of every team (uses the ledger).

A sheet is checked exactly as ``kpi check`` checks a file (:func:`kpi.pipeline.month.validate`: the
same reader, zip-bomb and XML-attack guards, field checks) before anything is stored;
a refused sheet leaves no trace but its audit line.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from kpi.pipeline import month
from kpi.ledger import revisions
from kpi.core import rules
from kpi.core.errors import InputError, InputProblem
from kpi.ledger.db import Ledger, now, user
from kpi.io.writers import safe

SUFFIXES = (".xlsx", ".csv")


class Sheet(NamedTuple):
    """A stored sheet (without its bytes)."""

    id: int
    period: str
    team: str
    file_name: str
    sha256: str
    uploaded_at: str
    uploaded_by: str
    agents: int = 0


def check(path: Path, ruleset: rules.Ruleset, teams: Sequence[str]):
    """The validated sheet at ``path`` (InputError listing every problem otherwise); every agent
    must belong to one of ``teams`` (the uploading supervisor's)."""
    parsed = month.validate(path, ruleset)
    others = [agent for agent in parsed.agents if agent.team not in teams]
    if others:
        raise InputError([InputProblem(a.agent_id, "team", a.origin, a.team, "sheet_other_team",
                                       (("teams", "、".join(teams)),)) for a in others])
    return parsed


def upload(ledger: Ledger, ruleset: rules.Ruleset, file_name: str, content: bytes, teams: Sequence[str]) -> list[Sheet]:
    """Check the uploaded bytes as a sheet of ``ruleset``'s month and store it once per team it
    holds (all of ``teams``' agents); returns the sheets stored. InputError: nothing stored."""
    period = ruleset.period
    suffix = Path(file_name).suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError([InputProblem("", "", safe.filename(file_name) or "-", "", "unsupported_format", ())])
    with tempfile.TemporaryDirectory(prefix="kpi-upload-") as folder:
        path = Path(folder) / f"sheet{suffix}"
        path.write_bytes(content)
        parsed = check(path, ruleset, teams)
    digest = hashlib.sha256(content).hexdigest()
    stored = []
    with ledger.write() as db:
        revisions.require_open(ledger, period)
        for team in sorted({agent.team for agent in parsed.agents}):
            cursor = db.execute("INSERT INTO sheets (period, team, file_name, sha256, content, uploaded_at, uploaded_by) "
                                "VALUES (?, ?, ?, ?, ?, ?, ?)", (period, team, file_name, digest, content, now(), user()))
            count = sum(agent.team == team for agent in parsed.agents)
            stored.append(Sheet(cursor.lastrowid, period, team, file_name, digest, now(), user(), count))
        ledger.audit(db, "upload", period, {"file": file_name, "sha256": digest, "teams": [s.team for s in stored],
                                             "agents": len(parsed.agents)})
    return stored


def latest(ledger: Ledger, period: str) -> list[Sheet]:
    """The latest sheet of every team of the month, by team."""
    rows = ledger.rows("SELECT id, period, team, file_name, sha256, uploaded_at, uploaded_by FROM sheets "
                       "WHERE id IN (SELECT MAX(id) FROM sheets WHERE period = ? GROUP BY team) ORDER BY team", period)
    return [Sheet(*row) for row in rows]


def score(ledger: Ledger, ruleset: rules.Ruleset, out_dir: str | Path, lang: str) -> month.MonthReport:
    """Score the month from the latest sheet of every team: one revision, re-scoring only what
    changed (:func:`kpi.pipeline.month.score` with one file per team)."""
    period = ruleset.period
    found = latest(ledger, period)
    if not found:
        raise revisions.ReviewError("no_sheets", period=period)
    with tempfile.TemporaryDirectory(prefix="kpi-sheets-") as folder:
        paths, teams = [], []
        for index, sheet in enumerate(found):
            content = ledger.rows("SELECT content FROM sheets WHERE id = ?", sheet.id)[0]["content"]
            name = f"{index + 1:02d}-{safe.filename(sheet.team)}{Path(sheet.file_name).suffix.lower()}"
            path = Path(folder) / name
            path.write_bytes(content)
            paths.append(path)
            teams.append({sheet.team})  # the sheet stands for this team only (it may hold others)
        return month.score(paths, ruleset, out_dir, lang, ledger, jobs=1, scorecards=False, teams=teams)
