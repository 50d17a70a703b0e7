"""The month's memory: revisions, answers, status, closing, the level ladder (uses the ledger).

Every function takes an open :class:`kpi.ledger.db.Ledger`; every change runs in
one ledger transaction. A closed month refuses every change until reopened.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
import json
import re
import sqlite3
import unicodedata
from collections.abc import Sequence
from typing import NamedTuple

import orjson
from dateutil.relativedelta import relativedelta

from kpi.io import cards, reuse
from kpi.core import identity, ladder, numbers, rules, seal
from kpi.core.agents import AgentInput
from kpi.core.errors import KpiError
from kpi.ledger.db import Ledger, now, user
from kpi.core.scoring import AgentResult

LANGS = ("zh", "en")
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


class ReviewError(KpiError, ValueError):
    """A request the month's state does not allow; ``code`` is a message key."""

    def __init__(self, code: str, **params: object):
        self.code, self.params = code, {k: str(v) for k, v in params.items()}
        super().__init__(f"{code}: {self.params}")


# ------------------------------------------------------------------ months and revisions
def previous_period(period: str) -> str:
    first = datetime.datetime.strptime(period, "%Y-%m") - relativedelta(months=1)
    return first.strftime("%Y-%m")


def month_status(ledger: Ledger, period: str) -> str:
    rows = ledger.rows("SELECT status FROM months WHERE period = ?", period)
    return rows[0]["status"] if rows else "new"


def require_open(ledger: Ledger, period: str) -> None:
    """Refuse any change to a closed month, naming the way to reopen it."""
    if month_status(ledger, period) == "closed":
        raise ReviewError("month_closed", period=period)


def latest_revision(ledger: Ledger, period: str) -> sqlite3.Row | None:
    """The revision that counts: the closed one if the month is closed, else the newest."""
    rows = ledger.rows(
        "SELECT r.* FROM revisions r JOIN months m ON m.period = r.period WHERE r.period = ? "
        "ORDER BY (m.status = 'closed' AND r.revision = m.closed_revision) DESC, r.revision DESC LIMIT 1", period)
    return rows[0] if rows else None


def results_of(ledger: Ledger, revision_id: int, agent_id: str | None = None) -> dict[str, dict]:
    """agent id → stored result (identity, inputs, result document, fingerprint); one agent's
    only when ``agent_id`` is given (no need to decode the whole month for one answer)."""
    query = ("SELECT s.*, e.texts AS explain_texts FROM results s "
             "LEFT JOIN explanations e ON e.sha256 = s.explain_sha256 WHERE s.revision_id = ?")
    if agent_id is not None:
        rows = ledger.rows(query + " AND s.agent_id = ?", revision_id, agent_id)
    else:
        rows = ledger.rows(query + " ORDER BY s.team, s.agent_id", revision_id)
    return {row["agent_id"]: {**dict(row), "inputs": _read_inputs(row["inputs"]), "result": _result(row)}
            for row in rows}


def _result(row) -> dict:
    """The stored result document with its explanations (kept apart since schema 3, inline before)."""
    result = json.loads(row["result"])
    if row["explain_texts"]:
        result["explain"] = json.loads(row["explain_texts"])
    return result


def fill_from_ledger(ledger: Ledger, period: str, agents: Sequence[AgentInput], field: str, source: str):
    """Agents with an empty ``field`` get last month's ``source`` value from the ledger."""
    before = previous_period(period)
    revision = latest_revision(ledger, before)
    if revision is None:
        return list(agents)
    # ids are folded when read (kpi.core.identity): a month recorded before kept them as typed
    stored = {identity.fold(agent_id): row for agent_id, row in results_of(ledger, revision["id"]).items()}
    filled = []
    for agent in agents:
        value = stored.get(agent.agent_id, {}).get("inputs", {}).get("values", {}).get(source)
        if agent.values.get(field) is None and value not in (None, ""):
            agent = agent._replace(values={**agent.values, field: numbers.D(value)},
                                   filled={**agent.filled, field: f"{before}#{revision['revision']}"})
        filled.append(agent)
    return filled


def prefill(ledger: Ledger, period: str, roster: Sequence[AgentInput]) -> list[AgentInput]:
    """Roster agents with last month's closing level and sales from the ledger."""
    return prefill_report(ledger, period, roster)[0]


class Differs(NamedTuple):
    """An agent whose roster says another 上月销售额 than the ledger's closed month."""

    agent_id: str
    name: str
    roster: str
    ledger: str
    source: str          # e.g. 2026-10#2: the closed revision the figure came from


def prefill_report(ledger: Ledger, period: str, roster: Sequence[AgentInput]) -> tuple[list[AgentInput], list[Differs]]:
    """Roster agents with last month's closing level and sales, and where the roster differed.

    When last month is closed, its sales in the ledger are what growth is measured
    against: they replace the roster's figure (an old one is a stale month's), and every
    agent whose roster said otherwise is listed. Before closing, only empty cells are filled.
    """
    before = previous_period(period)
    levels = next_levels(ledger, before)
    agents = [a._replace(level=levels[a.agent_id]["level_to"]) if a.agent_id in levels else a for a in roster]
    if month_status(ledger, before) != "closed":
        return fill_from_ledger(ledger, period, agents, "sales_last_month", "sales_actual"), []
    revision = latest_revision(ledger, before)
    stored = results_of(ledger, revision["id"])
    source = f"{before}#{revision['revision']}"
    filled, differs = [], []
    for agent in agents:
        value = stored.get(agent.agent_id, {}).get("inputs", {}).get("values", {}).get("sales_actual")
        if value in (None, ""):
            filled.append(agent)
            continue
        closed, typed = numbers.D(value), agent.values.get("sales_last_month")
        if typed is not None and typed != closed:
            differs.append(Differs(agent.agent_id, agent.name, numbers.plain(typed), numbers.plain(closed), source))
        filled.append(agent._replace(values={**agent.values, "sales_last_month": closed},
                                     filled={**agent.filled, "sales_last_month": source}))
    return filled, differs


def fingerprint(result: AgentResult) -> str:
    """A hash of what the agent confirms (:func:`kpi.io.reuse.fingerprint`)."""
    return reuse.fingerprint(result)


@functools.lru_cache(maxsize=256)
def _dumped(label: rules.Label) -> dict:
    """A label's (frozen) fields as a dict, made once per label: every agent in a band has the same."""
    return label.model_dump()


def stored_result(result: AgentResult) -> dict:
    """The result as the ledger keeps it: figures and labels (the explanations apart, :func:`stored_texts`)."""
    pay = result.pay
    return {
        "points": {i.item_id: numbers.plain(i.points) for i in result.items}, "total": numbers.plain(result.total),
        "band": pay.band, "band_label": _dumped(pay.band_label), "multiplier": numbers.plain(pay.multiplier),
        "base_pay": numbers.money(pay.base_pay), "performance_pay": numbers.money(pay.performance_pay),
        "total_pay": numbers.money(pay.total_pay), "level_change": _dumped(pay.level_change),
    }


def stored_texts(texts: dict[str, dict[str, str]]) -> tuple[str, str]:
    """The explanations (lang → item → text) as the ledger keeps them: (sha256, JSON), in a
    table of their own, once however many revisions carry the agent over unchanged."""
    body = orjson.dumps(texts, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(body).hexdigest(), body.decode("utf-8")


def stored_inputs(agent: AgentInput) -> dict:
    """The inputs as the ledger keeps them; the supervisor's comments only when there are
    any (``comment``: 评语 on the month; ``item_comments``: item id → comment)."""
    stored = {"origin": agent.origin, "filled": dict(agent.filled),
              "values": {k: (None if v is None else numbers.plain(v)) for k, v in agent.values.items()}}
    comments = getattr(agent, "comments", None) or {}
    if comments.get("comment"):
        stored["comment"] = comments["comment"]
    items = {k: v for k, v in comments.items() if k != "comment" and v}
    if items:
        stored["item_comments"] = items
    return stored


def _read_inputs(text: str) -> dict:
    """Stored inputs with the comment keys always present ("" and {} when none were given)."""
    inputs = json.loads(text)
    inputs.setdefault("comment", "")
    inputs.setdefault("item_comments", {})
    return inputs


def _compact(document: dict) -> str:
    """JSON without spaces, as SQLite's json_set writes it (:data:`CARRY_RESULT`): a carried
    row's inputs read the same as a fresh row's."""
    return orjson.dumps(document).decode("utf-8")


def next_revision(ledger: Ledger, db, period: str) -> int:
    """The next revision number of ``period`` (inside the write transaction)."""
    return db.execute("SELECT COALESCE(MAX(revision), 0) + 1 FROM revisions WHERE period = ?",
                      (period,)).fetchone()[0]


class Before(NamedTuple):
    """What the last revision of a month stored that a re-score can reuse: agent id → its
    scorecard (``cards.Previous``); agent id → (input key, payroll row), for the agents it can
    give back unchanged (:func:`kpi.io.reuse.agent_key`; older revisions stored no key); its team
    summary's file stat and sheet keys ({} if none)."""

    cards: dict[str, cards.Previous]
    rows: dict[str, tuple[str, str]]
    summary: dict


def previous(ledger: Ledger, period: str) -> Before:
    """What the last revision of ``period`` stored for a re-score to reuse (one read of its rows)."""
    latest = latest_revision(ledger, period)
    if latest is None:
        return Before({}, {}, {})
    rows = ledger.rows("SELECT agent_id, card_key, card_revision, card_stat, card_path, input_key, payroll_row "
                       "FROM results WHERE revision_id = ?", latest["id"])
    scorecards = {r["agent_id"]: cards.Previous(r["card_key"], r["card_revision"], r["card_stat"], r["card_path"])
                  for r in rows if r["card_key"]}
    reusable = {r["agent_id"]: (r["input_key"], r["payroll_row"]) for r in rows if r["input_key"] and r["payroll_row"]}
    return Before(scorecards, reusable, json.loads(latest["summary"]) if latest["summary"] else {})


def record_summary(db, started: Revision, stat: str, sheets: Sequence[str], files: dict | None = None) -> None:
    """Remember the team summary of the revision being stored, for the next to take sheets from,
    and ``files`` (name → [content key, stat]) that the next may take whole."""
    db.execute("UPDATE revisions SET summary = ? WHERE id = ?",
               (json.dumps({"stat": stat, "sheets": list(sheets), "files": files or {}}), started.id))


class Revision(NamedTuple):
    """A revision being recorded: its row id, its number, the fingerprints and row id of the one before."""

    id: int
    number: int
    before: dict[str, str]
    previous_id: int | None = None


def begin(ledger: Ledger, db, ruleset: rules.Ruleset, revision: int, input_info: dict) -> Revision:
    """Start storing revision ``revision`` of the month (inside the write transaction);
    :func:`add` its results, then :func:`finish` it."""
    period = ruleset.period
    db.execute("INSERT OR IGNORE INTO months (period) VALUES (?)", (period,))
    previous = latest_revision(ledger, period)
    before = {} if previous is None else {row["agent_id"]: row["fingerprint"] for row in ledger.rows(
        "SELECT agent_id, fingerprint FROM results WHERE revision_id = ?", previous["id"])}
    cursor = db.execute(
        "INSERT INTO revisions (period, revision, scored_at, scored_by, input_file, input_sha256, rules) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)", (period, revision, now(), user(), input_info["file"], input_info["sha256"],
                                         ruleset.version.model_dump_json()))
    return Revision(cursor.lastrowid, revision, before, None if previous is None else previous["id"])


def add(db, rows: Sequence[tuple], copies: Sequence[tuple] = (), carried: Sequence[tuple] = (),
        texts: Sequence[tuple[str, str]] = ()) -> None:
    """Store result rows made by :func:`result_row` with their ``texts`` (:func:`stored_texts`),
    and copy those of :func:`copied_row` and :func:`carried_row`."""
    db.executemany("INSERT OR IGNORE INTO explanations (sha256, texts) VALUES (?, ?)", texts)
    db.executemany(INSERT_RESULT, rows)
    db.executemany(COPY_RESULT, copies)
    db.executemany(CARRY_RESULT, carried)


def copied_row(revision_id: int, agent: AgentInput, from_revision_id: int, key: str, row: str) -> tuple:
    """An unchanged agent's row copied from revision ``from_revision_id`` (figures, explanations
    and scorecard as they were), with the inputs as read this time (the row may have moved),
    their ``key`` and the encoded payroll ``row``."""
    return revision_id, _compact(stored_inputs(agent)), key, row, from_revision_id, agent.agent_id


def carried_row(revision_id: int, agent: AgentInput, from_revision_id: int) -> tuple:
    """The row of an agent whose input key is the one stored in revision ``from_revision_id``
    (:func:`kpi.io.reuse.agent_key` covers its values and their sources): copied whole, but for where
    the row was read this time."""
    return revision_id, agent.origin, from_revision_id, agent.agent_id


def finish(ledger: Ledger, db, period: str, started: Revision, fingerprints: Sequence[tuple[str, str]],
           input_info: dict) -> list[str]:
    """Clear the answers of agents whose result changed (``fingerprints``: agent id and
    fingerprint of every agent stored) and log the revision. Returns their ids."""
    changed = [agent_id for agent_id, new in fingerprints
               if agent_id in started.before and started.before[agent_id] != new]
    _clear_answers(db, period, changed, started.number)
    ledger.audit(db, "score", period, {"revision": started.number, "agents": len(fingerprints), "changed": changed,
                                        "input_sha256": input_info["sha256"]})
    return changed


_KEPT = ("name", "team", "level", "result", "fingerprint", "total", "band", "pay", "level_change", "card_key",
         "card_revision", "card_stat", "card_path", "explain_sha256")  # what a copied row takes over
_COLUMNS = ", ".join(("revision_id", "agent_id", "inputs", "input_key", "payroll_row") + _KEPT)
INSERT_RESULT = f"INSERT INTO results ({_COLUMNS}) VALUES ({', '.join('?' for _ in range(5 + len(_KEPT)))})"
COPY_RESULT = (f"INSERT INTO results ({_COLUMNS}) SELECT ?, agent_id, ?, ?, ?, {', '.join(_KEPT)} FROM results "
               "WHERE revision_id = ? AND agent_id = ?")
CARRY_RESULT = (f"INSERT INTO results ({_COLUMNS}) SELECT ?, agent_id, json_set(inputs, '$.origin', ?), input_key, "
                f"payroll_row, {', '.join(_KEPT)} FROM results WHERE revision_id = ? AND agent_id = ?")
NO_CARD = ("", None, "", "")


def result_row(revision_id: int, result: AgentResult, sealed: str, texts_sha256: str, card: tuple = NO_CARD,
               key: str = "", row: str = "") -> tuple:
    """The ledger row of ``result``: its :func:`fingerprint` ``sealed`` (the caller keeps it for
    :func:`finish` too), its explanations' hash (:func:`stored_texts`), ``card`` (key, revision
    that wrote it, file stat, path) of its scorecard; its input ``key`` and encoded payroll
    ``row``, for a re-score to take it back."""
    agent, pay = result.agent, result.pay
    return (revision_id, agent.agent_id, _compact(stored_inputs(agent)), key, row,
            agent.name, agent.team, agent.level, _compact(stored_result(result)),
            sealed, numbers.plain(result.total), str(pay.band), numbers.money(pay.total_pay),
            pay.level_change.value, *card, texts_sha256)


def _clear_answers(db, period: str, agent_ids: Sequence[str], revision: int) -> None:
    for agent_id in agent_ids:
        db.execute("UPDATE answers SET cleared_at = ?, cleared_note = ?, cleared_revision = ? WHERE period = ? "
                   "AND agent_id = ? AND cleared_at IS NULL",
                   (now(), f"result changed in revision {revision}", revision, period, agent_id))


# ------------------------------------------------------------------ answers
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
        latest = _require_scored(ledger, period)
        current = results_of(ledger, latest["id"], given.agent_id).get(given.agent_id)
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


def _require_scored(ledger: Ledger, period: str):
    latest = latest_revision(ledger, period)
    if latest is None:
        raise ReviewError("month_not_scored", period=period)
    return latest


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


def _decisions(ledger: Ledger, period: str) -> dict[int, sqlite3.Row]:
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
        latest = _require_scored(ledger, period)
        if not results_of(ledger, latest["id"], agent_id):
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
    latest = _require_scored(ledger, period)
    answers, cleared, decided = active_answers(ledger, period), cleared_answers(ledger, period), _decisions(ledger, period)
    found = []
    for agent_id, row in results_of(ledger, latest["id"]).items():
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


# ------------------------------------------------------------------ levels and closing
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
        stored = results_of(ledger, _require_scored(ledger, period)["id"], agent_id).get(agent_id)
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
    latest = _require_scored(ledger, period)
    found = status(ledger, period, deadline, today)
    decisions = level_decisions(ledger, period)
    automatic = ruleset.pay.review.apply_without_approval
    pending = []
    for agent_id, row in results_of(ledger, latest["id"]).items():
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
    today = today or datetime.date.today()
    deadline = deadline or today
    with ledger.write() as db:
        ledger.require_intact(period)
        require_open(ledger, period)
        latest = _require_scored(ledger, period)
        listed = closing(ledger, ruleset, deadline, today)
        blocking = listed.blocking()
        if blocking and not force_reason:
            key, rows = next(iter(blocking.items()))
            raise ReviewError(key, period=period, agents="; ".join(_named(row) for row in rows))
        decisions = level_decisions(ledger, period)
        automatic = ruleset.pay.review.apply_without_approval
        moves = {}
        for agent_id, row in results_of(ledger, latest["id"]).items():
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


# ------------------------------------------------------------------ history
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
    decided = {period: _decisions(ledger, period) for period in periods}
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
        return _require_scored(ledger, period)
    rows = ledger.rows("SELECT * FROM revisions WHERE period = ? AND revision = ?", period, revision)
    if not rows:
        raise ReviewError("no_revision", period=period, revision=revision)
    return rows[0]



# ------------------------------------------------------------------ returned scorecards
class Collected(NamedTuple):
    """The outcome of reading returned scorecards."""

    recorded: list[Answer]
    unanswered: list[str]                      # files without an answer yet
    refused: list[tuple[str, str, dict]]       # (file, message key, params)


def check_card(ledger: Ledger, period: str, card, stored: dict[str, dict], latest) -> tuple[str, dict] | Answer | None:
    """A returned card as an Answer, None when unanswered, or (key, params) why it is refused.

    What the card says is decided by the ledger and the card's seal (:mod:`kpi.core.seal`), never
    by its defined names or formulas: the seal is made again from the ledger's fingerprint of
    the revision the card claims, and every cell must carry the tag kpi gave it."""
    if card.period != period:
        return "card_other_period", {"agent": card.agent_id, "period": card.period}
    if card.agent_id not in stored:
        return "unknown_agent", {"agent": card.agent_id, "period": period}
    issued = ledger.rows("SELECT s.fingerprint FROM results s JOIN revisions r ON r.id = s.revision_id "
                         "WHERE r.period = ? AND r.revision = ? AND s.agent_id = ?", period, card.revision, card.agent_id)
    expected = issued and seal.card_seal(ledger.secret, card.agent_id, period, card.revision, issued[0]["fingerprint"])
    if not expected or not hmac.compare_digest(expected, card.claim.seal):
        return "card_seal_invalid", {"agent": card.agent_id, "cell": f"{card.sheet}!H1", "revision": card.revision}
    if card.revision != latest["revision"] and issued[0]["fingerprint"] != stored[card.agent_id]["fingerprint"]:
        return "card_outdated", {"agent": card.agent_id, "revision": card.revision, "latest": latest["revision"]}
    edited = _edited_cell(ledger.secret, card, stored[card.agent_id]["result"]) or _moved_name(card)
    if edited:
        key, params = edited
        return key, {"agent": card.agent_id, **params}
    return _card_answer(card)


def _edited_cell(secret: bytes, card, result: dict) -> tuple[str, dict] | None:
    """The first cell (in reading order) that is not what kpi wrote: a changed value, a formula
    typed over a figure, a value where kpi wrote none, a value deleted. A scored cell names
    the ledger's value."""
    expected = {f"points_{item}": points for item, points in result["points"].items()}
    expected |= {"total": result["total"], "pay": result["total_pay"], "multiplier": result["multiplier"],
                 "base_pay": result["base_pay"], "performance_pay": result["performance_pay"]}
    places = {f"{column}{row}": entry for row, entries in card.tags.items() for column, entry in entries.items()}
    for ref in sorted(set(card.cells) | set(places), key=_reading_order):
        role, tag = places.get(ref, ("", ""))
        if role in seal.SLOTS:
            if not hmac.compare_digest(seal.cell_tag(secret, card.claim.seal, ref, role, "slot", ""), tag):
                return "card_cell_edited", {"cell": f"{card.sheet}!{ref}", "now": _shown(card.cells.get(ref))}
            continue
        cell = card.cells.get(ref)
        genuine = cell is not None and tag and cell.kind in ("s", "n", "f") and hmac.compare_digest(
            seal.cell_tag(secret, card.claim.seal, ref, role, cell.kind, _readable(cell)), tag)
        if genuine:
            continue
        if role in expected:
            return "card_edited", {"cell": f"{card.sheet}!{ref}", "was": expected[role], "now": _shown(cell)}
        return "card_cell_edited", {"cell": f"{card.sheet}!{ref}", "now": _shown(cell)}
    return None


def _moved_name(card) -> tuple[str, dict] | None:
    """The first ``kpi_*`` defined name deleted or pointed elsewhere than kpi wrote it (the names
    decide nothing, but a card whose names were changed is not the card kpi issued)."""
    wanted = {"kpi_period": f'"{card.period}"', "kpi_revision": str(card.revision)}
    for row, entries in sorted(card.tags.items()):
        for column, (role, _) in entries.items():
            if role:
                wanted[f"kpi_{role}"] = f"{card.sheet}!{column}{row}"
    for name, want in wanted.items():
        now = card.names.get(name)
        if now is None or _name_target(now) != _name_target(want):
            cell = want if "!" in want else f"{card.sheet}!H1"
            return "card_name_changed", {"name": name, "cell": cell, "now": now or ""}
    return None


def _name_target(text: str) -> str:
    """A defined name's formula compared loosely: without ``=``, ``$`` and the quotes around a sheet."""
    return text.lstrip("=").replace("$", "").replace("'", "")


def _readable(cell) -> str:
    """A cell's content as tagged; a number that is none reads as text (and so fails its tag)."""
    if cell.kind == "n":
        try:
            float(cell.value)
        except ValueError:
            return "nan"
    return cell.value


def _reading_order(ref: str) -> tuple[int, int]:
    letters = ref.rstrip("0123456789")
    return int(ref[len(letters):]), sum((ord(c) - 64) * 26 ** i for i, c in enumerate(reversed(letters)))


def _shown(cell) -> str:
    """A cell's content as the refusal shows it: a formula with its ``=``, a whole number without ``.0``."""
    if cell is None:
        return ""
    if cell.kind == "f":
        return "=" + cell.value.lstrip("=")
    if cell.kind == "n":
        try:
            number = float(cell.value)
            return str(int(number)) if number.is_integer() else repr(number)
        except ValueError:
            return cell.value
    return cell.value


def _card_answer(card) -> Answer | tuple[str, dict] | None:
    _, given = card.slot("answer")
    _, reason = card.slot("reason")
    if not given:
        return None
    answer = answer_word(given)
    if answer is None:
        return "card_bad_answer", {"agent": card.agent_id, "value": given}
    if answer == "object" and not reason.strip():
        return "reason_required", {"agent": card.agent_id}
    return Answer(card.agent_id, answer, reason if answer == "object" else "", card.file)


def collect(ledger: Ledger, period: str, cards: Sequence, by: str | None = None) -> Collected:
    """Check every returned card against the ledger and record the valid answers."""
    ledger.require_intact(period)
    require_open(ledger, period)
    latest = _require_scored(ledger, period)
    stored = results_of(ledger, latest["id"])
    outcome = Collected([], [], [])
    for card in cards:
        checked = check_card(ledger, period, card, stored, latest)
        if checked is None:
            outcome.unanswered.append(card.file)
        elif isinstance(checked, Answer):
            try:
                answer(ledger, period, checked, card.revision, checked=True, by=by)
            except ReviewError as refused:   # e.g. a re-score changed the result meanwhile
                outcome.refused.append((card.file, refused.code, refused.params))
                continue
            outcome.recorded.append(checked)
        else:
            outcome.refused.append((card.file, *checked))
    return outcome
