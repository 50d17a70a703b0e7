"""Agents' answers to the month's result in the ledger: confirmations, objections, the
manager's decisions on them, and where every agent's answer stands."""

from __future__ import annotations

import datetime
import re
import sqlite3
import unicodedata
from typing import NamedTuple

from kpi.ledger.db import Ledger, now
from kpi.ledger.revisions import ReviewError, latest_revision, require_open, require_scored, results_of

ANSWERS = {"确认": "confirm", "同意": "confirm", "confirm": "confirm", "异议": "object", "object": "object",
           # what agents write instead (issue 22): read as they mean it
           "确认无误": "confirm", "已确认": "confirm", "无异议": "confirm", "没有异议": "confirm", "同意结果": "confirm",
           "ok": "confirm", "yes": "confirm", "confirmed": "confirm", "agree": "confirm",
           "有异议": "object", "提出异议": "object", "不同意": "object", "不确认": "object", "objection": "object",
           "disagree": "object"}
_ANSWER_NOISE = re.compile(r"[\s。.,,!!、::;;✓√✔☑]+")


def answer_word(text: str) -> str | None:
    """confirm | object for what an agent wrote in the answer cell (NFKC-folded, punctuation
    and ticks ignored: 确认。, 确认无误, 有异议, ✓确认), None when it says neither."""
    folded = _ANSWER_NOISE.sub("", unicodedata.normalize("NFKC", text or "")).lower()
    return ANSWERS.get(folded)


class Answer(NamedTuple):
    """An agent's answer to the month's result."""

    agent_id: str
    answer: str          # confirm | object
    reason: str
    via: str             # file name, or "in person"


def answer(ledger: Ledger, period: str, given: Answer, revision: int | None = None, checked: bool = False,
           by: str | None = None) -> None:
    """Record an answer to the result the agent saw: revision ``revision`` (a returned card's),
    else the counting revision when this call began, before it waits for the ledger. If the
    agent's result changed since that revision (a re-score committed meanwhile), the answer
    is refused: it never attaches to a result the agent has not seen. Refused as well for a
    closed month, an unknown agent, and an agent whose objection the manager upheld: their
    result must change first (a re-score), then they answer the new one. ``checked``: the
    caller has checked the month's chain already (:meth:`Ledger.require_intact`); ``by``: who
    enters the answer (default the account running kpi)."""
    if given.answer == "object" and not given.reason.strip():
        raise ReviewError("reason_required", agent=given.agent_id)
    seen = revision
    if seen is None:
        started = latest_revision(ledger, period)
        seen = started["revision"] if started else 0
    with ledger.write() as db:
        if not checked:
            ledger.require_intact(period)
        require_open(ledger, period)
        latest = require_scored(ledger, period)
        current = results_of(ledger, latest["id"], given.agent_id, explain=False).get(given.agent_id)
        if current is None:
            raise ReviewError("unknown_agent", agent=given.agent_id, period=period)
        if seen != latest["revision"] and _fingerprint_at(ledger, period, seen, given.agent_id) != current["fingerprint"]:
            raise ReviewError("answer_result_changed", agent=given.agent_id, seen=seen, latest=latest["revision"])
        standing = active_answers(ledger, period).get(given.agent_id)
        decided = _decision_of(ledger, standing["id"]) if standing is not None else None
        if decided is not None and decided["decision"] == "uphold":
            raise ReviewError("objection_upheld_pending", agent=given.agent_id, period=period)
        who = by or ledger.user()
        db.execute("INSERT INTO answers (period, agent_id, revision, answer, reason, via, recorded_at, recorded_by) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (period, given.agent_id, seen,
                                                       given.answer, given.reason.strip(), given.via, now(), who))
        ledger.audit(db, given.answer, period, {**given._asdict(), "revision": seen}, who=who)


def _fingerprint_at(ledger: Ledger, period: str, revision: int, agent_id: str) -> str | None:
    rows = ledger.rows("SELECT s.fingerprint FROM results s JOIN revisions r ON r.id = s.revision_id "
                       "WHERE r.period = ? AND r.revision = ? AND s.agent_id = ?", period, revision, agent_id)
    return rows[0]["fingerprint"] if rows else None


def active_answers(ledger: Ledger, period: str) -> dict[str, sqlite3.Row]:
    """agent id → the latest answer not cleared by a changed result."""
    rows = ledger.rows("SELECT * FROM answers WHERE period = ? AND cleared_at IS NULL ORDER BY id", period)
    return {row["agent_id"]: row for row in rows}


def cleared_answers(ledger: Ledger, period: str) -> dict[str, sqlite3.Row]:
    rows = ledger.rows("SELECT * FROM answers WHERE period = ? AND cleared_at IS NOT NULL ORDER BY id", period)
    return {row["agent_id"]: row for row in rows}


def _decision_of(ledger: Ledger, answer_id: int) -> sqlite3.Row | None:
    rows = ledger.rows("SELECT * FROM objection_decisions WHERE answer_id = ?", answer_id)
    return rows[0] if rows else None


def objection_decisions(ledger: Ledger, period: str) -> dict[int, sqlite3.Row]:
    """answer id → the manager's decision on that objection."""
    return {row["answer_id"]: row for row in ledger.rows("SELECT * FROM objection_decisions WHERE period = ?", period)}


def answer_state(given, decision) -> str:
    """The state one answer (a row or None) and the manager's decision on it give: confirmed,
    objected, objection_upheld, objection_rejected or unanswered. ``status`` and ``history``
    both read states this way, so they tell the same story."""
    if given is None:
        return "unanswered"
    if given["answer"] == "confirm":
        return "confirmed"
    if decision is None:
        return "objected"
    return {"uphold": "objection_upheld", "reject": "objection_rejected"}[decision["decision"]]


def decide_objection(ledger: Ledger, period: str, agent_id: str, decision: str, reason: str,
                     by: str | None = None) -> None:
    """The 客服部经理's decision on an agent's open objection (如有异议由客服部经理进行再确认).

    ``reject``: the result stands and the objection ends as 经理复核维持 (never as the
    agent's confirmation). ``uphold``: the result must change; the agent stays open until a
    re-score changes it, and then answers the new result. Recorded with who (``by``,
    default the account running kpi) and when; refused without an open objection or a reason.
    """
    if decision not in ("uphold", "reject"):
        raise ReviewError("decision_invalid", value=decision)
    if not (reason or "").strip():
        raise ReviewError("decision_reason_required", agent=agent_id)
    with ledger.write() as db:
        ledger.require_intact(period)
        require_open(ledger, period)
        latest = require_scored(ledger, period)
        if not results_of(ledger, latest["id"], agent_id, explain=False):
            raise ReviewError("unknown_agent", agent=agent_id, period=period)
        given = active_answers(ledger, period).get(agent_id)
        if given is None or given["answer"] != "object" or _decision_of(ledger, given["id"]) is not None:
            raise ReviewError("no_open_objection", agent=agent_id, period=period)
        who = by or ledger.user()
        db.execute("INSERT INTO objection_decisions (period, agent_id, answer_id, revision, decision, reason, "
                   "decided_at, decided_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (period, agent_id, given["id"], latest["revision"], decision, reason.strip(), now(), who))
        ledger.audit(db, f"objection_{decision}", period,
                     {"agent_id": agent_id, "objection": given["reason"], "reason": reason.strip()}, who=who)


class AgentStatus(NamedTuple):
    """Where one agent's confirmation stands.

    state: confirmed | objected | objection_upheld | objection_rejected | unanswered | overdue
    (overdue: no answer and past the deadline; ``overdue`` says the same as a flag).
    reason: the objection's reason; cleared_note: set when an earlier answer was cleared
    because the result changed after it; decision*: the manager's decision on the objection.
    """

    agent_id: str
    name: str
    team: str
    state: str
    reason: str
    overdue: bool
    cleared_note: str
    decision: str = ""
    decision_reason: str = ""
    decided_by: str = ""
    decided_at: str = ""
    answered_at: str = ""
    answered_by: str = ""
    via: str = ""


def status(ledger: Ledger, period: str, deadline: datetime.date, today: datetime.date) -> list[AgentStatus]:
    """Every agent of the counting revision with the state of their answer."""
    latest = require_scored(ledger, period)
    answers, cleared, decided = active_answers(ledger, period), cleared_answers(ledger, period), objection_decisions(ledger, period)
    found = []
    for agent_id, row in results_of(ledger, latest["id"], explain=False).items():
        given = answers.get(agent_id)
        decision = decided.get(given["id"]) if given else None
        state = answer_state(given, decision)
        overdue = state == "unanswered" and today > deadline
        note = cleared[agent_id]["cleared_note"] if agent_id in cleared and not given else ""
        found.append(AgentStatus(
            agent_id, row["name"], row["team"], "overdue" if overdue else state, given["reason"] if given else "",
            overdue, note, decision["decision"] if decision else "", decision["reason"] if decision else "",
            decision["decided_by"] if decision else "", decision["decided_at"] if decision else "",
            given["recorded_at"] if given else "", given["recorded_by"] if given else "", given["via"] if given else ""))
    return found
