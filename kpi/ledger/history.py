"""What the ledger remembers across months: an agent's history, every month's revisions,
one stored revision."""

from __future__ import annotations

import json
import sqlite3
from typing import NamedTuple

from kpi.ledger.answers import answer_state, objection_decisions
from kpi.ledger.db import Ledger
from kpi.ledger.revisions import ReviewError, latest_revision, require_scored


class HistoryLine(NamedTuple):
    period: str
    revision: int
    counting: bool
    total: str
    band_label: dict
    pay: str
    level: str
    state: str


def history(ledger: Ledger, agent_id: str) -> list[HistoryLine]:
    """Every revision that scored the agent, oldest first, with the confirmation state as it
    stood for that revision (an answer counts for the revisions from the one it answered up
    to the one whose changed result cleared it; the manager's decision on an objection shows)."""
    rows = ledger.rows(
        "SELECT r.period, r.revision, r.id, m.status, m.closed_revision, s.* FROM results s "
        "JOIN revisions r ON r.id = s.revision_id JOIN months m ON m.period = r.period "
        "WHERE s.agent_id = ? ORDER BY r.period, r.revision", agent_id)
    periods = {row["period"] for row in rows}
    counting = {period: latest_revision(ledger, period)["revision"] for period in periods}
    answers = {period: ledger.rows("SELECT * FROM answers WHERE period = ? AND agent_id = ? ORDER BY id",
                                   period, agent_id) for period in periods}
    decided = {period: objection_decisions(ledger, period) for period in periods}
    lines = []
    for row in rows:
        given = None
        for candidate in answers[row["period"]]:
            if candidate["revision"] <= row["revision"] and _cleared_in(candidate) > row["revision"]:
                given = candidate
        state = answer_state(given, decided[row["period"]].get(given["id"]) if given else None)
        result = json.loads(row["result"])
        lines.append(HistoryLine(row["period"], row["revision"], counting[row["period"]] == row["revision"],
                                 row["total"], result["band_label"], row["pay"], row["level"], state))
    return lines


def _cleared_in(row) -> float:
    """The revision whose changed result cleared an answer (infinity while it stands)."""
    if row["cleared_at"] is None:
        return float("inf")
    if row["cleared_revision"] is not None:
        return row["cleared_revision"]
    digits = "".join(ch for ch in (row["cleared_note"] or "").rsplit(" ", 1)[-1] if ch.isdigit())
    return int(digits) if digits else float("inf")


def months(ledger: Ledger) -> list[sqlite3.Row]:
    """Every revision of every month, oldest first, with its agent count and the month's state."""
    return ledger.rows(
        "SELECT r.period, r.revision, r.scored_at, r.scored_by, m.status, "
        "(SELECT COUNT(*) FROM results s WHERE s.revision_id = r.id) AS agents "
        "FROM revisions r JOIN months m ON m.period = r.period ORDER BY r.period, r.revision")


def revision_of(ledger: Ledger, period: str, revision: int | None):
    """A stored revision (the counting one when ``revision`` is None)."""
    if revision is None:
        return require_scored(ledger, period)
    rows = ledger.rows("SELECT * FROM revisions WHERE period = ? AND revision = ?", period, revision)
    if not rows:
        raise ReviewError("no_revision", period=period, revision=revision)
    return rows[0]
