"""Closing a month in the ledger: level decisions, what closing would leave behind, closing,
reopening, and the levels the next month starts from."""

from __future__ import annotations

import datetime
import sqlite3
from typing import NamedTuple

from kpi.core import ladder, rules
from kpi.ledger.answers import AgentStatus, status
from kpi.io import clock
from kpi.ledger.db import Ledger, now
from kpi.ledger.revisions import ReviewError, month_status, require_open, require_scored, results_of


ALLOWED_DECISIONS = {"+2": ("+2", "+1", "0"), "+1|0": ("+1", "0"), "0": ("0",), "-1": ("-1", "0"),
                     "dismiss": ("dismiss", "-1", "0")}


def decide_level(ledger: Ledger, period: str, agent_id: str, change: str, by: str | None = None) -> None:
    """A person's decision on an agent's level recommendation (建议升2级, 建议升1级或不变, 建议降级,
    建议辞退): ``change`` is one of +2, +1, 0, -1, dismiss, at most as far as the recommendation
    goes (a +2 may be approved as +2, +1 or 0). Recorded with the recommendation it answers:
    a re-score that changes the recommendation makes it wait for a new decision."""
    if change not in ladder.DECISIONS:
        raise ReviewError("level_change_invalid", change=change)
    with ledger.write() as db:
        ledger.require_intact(period)
        require_open(ledger, period)
        stored = results_of(ledger, require_scored(ledger, period)["id"], agent_id, explain=False).get(agent_id)
        if stored is None:
            raise ReviewError("unknown_agent", agent=agent_id, period=period)
        recommendation = stored["level_change"]
        allowed = ALLOWED_DECISIONS.get(recommendation, ladder.DECISIONS)
        if change not in allowed:
            raise ReviewError("level_not_allowed", agent=agent_id, change=change, recommendation=recommendation,
                              allowed=" / ".join(allowed))
        who = by or ledger.user()
        db.execute("INSERT OR REPLACE INTO decisions (period, agent_id, change, decided_at, decided_by, recommendation) "
                   "VALUES (?, ?, ?, ?, ?, ?)", (period, agent_id, change, now(), who, recommendation))
        ledger.audit(db, "level", period, {"agent_id": agent_id, "change": change, "recommendation": recommendation},
                     who=who)


def level_decisions(ledger: Ledger, period: str) -> dict[str, sqlite3.Row]:
    """agent id → the level decision recorded for ``period``."""
    return {r["agent_id"]: r for r in ledger.rows("SELECT * FROM decisions WHERE period = ?", period)}


class PendingLevel(NamedTuple):
    """A recommendation that waits for a person's decision before closing applies it."""

    agent_id: str
    name: str
    team: str
    level: str
    recommendation: str


class Closing(NamedTuple):
    """What closing the month would leave behind, listed before it closes: agents who never
    answered (and whether past the deadline), whose result changed after their answer, whose
    objection is still open or was decided, and level recommendations waiting for approval."""

    period: str
    revision: int
    unanswered: list[AgentStatus]
    changed: list[AgentStatus]
    open_objections: list[AgentStatus]
    decided: list[AgentStatus]
    pending_levels: list[PendingLevel]
    policy: str

    def blocking(self) -> dict[str, list]:
        """What refuses closing unless forced: message key → its agents."""
        found = {"open_objections": self.open_objections, "pending_levels": self.pending_levels}
        if self.policy == "refused":
            found["unanswered_past_deadline"] = [s for s in self.unanswered if s.overdue]
        return {key: rows for key, rows in found.items() if rows}


def closing(ledger: Ledger, ruleset: rules.Ruleset, deadline: datetime.date, today: datetime.date) -> Closing:
    """The list ``kpi close`` shows before closing (see :class:`Closing`)."""
    period = ruleset.period
    latest = require_scored(ledger, period)
    found = status(ledger, period, deadline, today)
    decisions = level_decisions(ledger, period)
    automatic = ruleset.pay.review.apply_without_approval
    pending = []
    for agent_id, row in results_of(ledger, latest["id"], explain=False).items():
        if ladder.pending(row["level_change"], _decision_for(decisions.get(agent_id), row["level_change"]), automatic):
            pending.append(PendingLevel(agent_id, row["name"], row["team"], row["level"], row["level_change"]))
    return Closing(period, latest["revision"],
                   [s for s in found if s.state in ("unanswered", "overdue")],
                   [s for s in found if s.cleared_note],
                   [s for s in found if s.state in ("objected", "objection_upheld")],
                   [s for s in found if s.decision],
                   pending, ruleset.pay.review.unanswered_past_deadline)


def _decision_for(row, recommendation: str) -> str | None:
    """The decided change if it answers the current recommendation (older ledgers stored none: it does)."""
    if row is None or (row["recommendation"] and row["recommendation"] != recommendation):
        return None
    return row["change"]


def close(ledger: Ledger, ruleset: rules.Ruleset, force_reason: str | None, on_closed=None,
          deadline: datetime.date | None = None, today: datetime.date | None = None,
          by: str | None = None) -> dict[str, ladder.Move]:
    """Finalize the newest revision and compute next month's levels.

    Refused (unless ``force_reason``) while an objection is open or upheld without a new
    result, while a level recommendation waits for approval, and, when the policy says so,
    while agents past the deadline never answered. ``on_closed(moves)`` runs inside the
    transaction once the month is marked closed (to write HR's payroll): if it fails, the
    month stays open. ``by``: who closes (default the account running kpi).
    """
    period = ruleset.period
    today = today or clock.today()
    deadline = deadline or today
    with ledger.write() as db:
        ledger.require_intact(period)
        require_open(ledger, period)
        latest = require_scored(ledger, period)
        listed = closing(ledger, ruleset, deadline, today)
        blocking = listed.blocking()
        if blocking and not force_reason:
            key, rows = next(iter(blocking.items()))
            raise ReviewError(key, period=period, agents="; ".join(_named(row) for row in rows))
        decisions = level_decisions(ledger, period)
        automatic = ruleset.pay.review.apply_without_approval
        moves = {}
        for agent_id, row in results_of(ledger, latest["id"], explain=False).items():
            decision = _decision_for(decisions.get(agent_id), row["level_change"])
            moves[agent_id] = ladder.next_level(ruleset.pay.levels, row["level"], row["level_change"], decision,
                                                automatic)
        db.execute("DELETE FROM next_levels WHERE period = ?", (period,))
        for agent_id, move in moves.items():
            db.execute("INSERT INTO next_levels VALUES (?, ?, ?, ?, ?, ?)",
                       (period, agent_id, move.level_from, move.level_to, f"{move.change:+d}", move.flag))
        who = by or ledger.user()
        db.execute("UPDATE months SET status = 'closed', closed_revision = ?, closed_at = ?, closed_by = ?, "
                   "close_note = ? WHERE period = ?", (latest["revision"], now(), who, force_reason or "", period))
        ledger.audit(db, "close", period, {
            "revision": latest["revision"], "forced": force_reason or "",
            "objections": [a.agent_id for a in listed.open_objections],
            "pending_levels": [p.agent_id for p in listed.pending_levels],
            "unanswered": [a.agent_id for a in listed.unanswered]}, who=who)
        if on_closed is not None:
            on_closed(moves)
    return moves


def _named(row) -> str:
    if isinstance(row, PendingLevel):
        return f"{row.agent_id} {row.name} ({row.recommendation})"
    return f"{row.agent_id}: {row.reason}" if row.reason else row.agent_id


def reopen(ledger: Ledger, period: str, reason: str, by: str | None = None) -> None:
    """Reopen a closed month; the reason goes into the audit log with who (``by``)."""
    if not (reason or "").strip():
        raise ReviewError("reason_blank")
    with ledger.write() as db:
        ledger.require_intact(period)
        if month_status(ledger, period) != "closed":
            raise ReviewError("month_not_closed", period=period)
        db.execute("UPDATE months SET status = 'open', closed_revision = NULL WHERE period = ?", (period,))
        db.execute("DELETE FROM next_levels WHERE period = ?", (period,))
        ledger.audit(db, "reopen", period, reason.strip(), who=by)


def next_levels(ledger: Ledger, period: str) -> dict[str, sqlite3.Row]:
    return {row["agent_id"]: row for row in ledger.rows("SELECT * FROM next_levels WHERE period = ?", period)}
