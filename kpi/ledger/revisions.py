"""A month's revisions in the ledger: its state, storing a scored revision, reading its results.

Every function takes an open :class:`kpi.ledger.db.Ledger`; every change runs in
one ledger transaction. A closed month refuses every change until reopened.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import orjson

from kpi.io import cards, reuse
from kpi.core import numbers, rules
from kpi.core.agents import AgentInput
from kpi.core.errors import KpiError
from kpi.core.period import Period
from kpi.ledger import explanations
from kpi.ledger.db import Ledger, now, user
from kpi.core.scoring import AgentResult


class ReviewError(KpiError, ValueError):
    """A request the month's state does not allow; ``code`` is a message key."""

    def __init__(self, code: str, **params: object):
        self.code, self.params = code, {k: str(v) for k, v in params.items()}
        super().__init__(f"{code}: {self.params}")


def previous_period(period: str) -> Period:
    return Period(period).previous


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


def require_scored(ledger: Ledger, period: str):
    latest = latest_revision(ledger, period)
    if latest is None:
        raise ReviewError("month_not_scored", period=period)
    return latest


def results_of(ledger: Ledger, revision_id: int, agent_id: str | None = None,
               explain: bool = True) -> dict[str, dict]:
    """agent id → stored result (identity, inputs, result document, fingerprint); one agent's
    only when ``agent_id`` is given (no need to decode the whole month for one answer).
    ``explain``: the result document has its explanations (``explain``: lang → item → text),
    rendered from the stored records (:mod:`kpi.ledger.explanations`); a caller that reads
    only figures and states passes False and skips that work."""
    if explain:
        query = ("SELECT s.*, e.texts AS explain_texts, r.items AS explain_records FROM results s "
                 "LEFT JOIN explanations e ON e.sha256 = s.explain_sha256 "
                 "LEFT JOIN records r ON r.sha256 = s.records_sha256 WHERE s.revision_id = ?")
    else:
        query = "SELECT s.*, NULL AS explain_texts, NULL AS explain_records FROM results s WHERE s.revision_id = ?"
    if agent_id is not None:
        rows = ledger.rows(query + " AND s.agent_id = ?", revision_id, agent_id)
    else:
        rows = ledger.rows(query + " ORDER BY s.team, s.agent_id", revision_id)
    return {row["agent_id"]: {**dict(row), "inputs": _read_inputs(row["inputs"]), "result": _result(ledger, row)}
            for row in rows}


def _result(ledger: Ledger, row) -> dict:
    """The stored result document with its explanations: rendered from the records (schema 7
    on), else as stored (texts kept apart since schema 3, inline before)."""
    result = json.loads(row["result"])
    if row["explain_records"]:
        result["explain"] = explanations.rendered(ledger, row["ruleset_sha256"], row["explain_records"])
    elif row["explain_texts"]:
        result["explain"] = json.loads(row["explain_texts"])
    return result


def fingerprint(result: AgentResult) -> str:
    """A hash of what the agent confirms (:func:`kpi.io.reuse.fingerprint`)."""
    return reuse.fingerprint(result)


@functools.lru_cache(maxsize=256)
def _dumped(label: rules.Label) -> dict:
    """A label's (frozen) fields as a dict, made once per label: every agent in a band has the same."""
    return label.model_dump()


def stored_result(result: AgentResult) -> dict:
    """The result as the ledger keeps it: figures and labels (the item records apart,
    :func:`kpi.ledger.explanations.stored_records`)."""
    pay = result.pay
    return {
        "points": {i.item_id: numbers.plain(i.points) for i in result.items}, "total": numbers.plain(result.total),
        "band": pay.band, "band_label": _dumped(pay.band_label), "multiplier": numbers.plain(pay.multiplier),
        "base_pay": numbers.money(pay.base_pay), "performance_pay": numbers.money(pay.performance_pay),
        "total_pay": numbers.money(pay.total_pay), "level_change": _dumped(pay.level_change),
    }


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


def record_summary(db, started: Revision, stat: str, sheets: Sequence[str], files: dict | None = None,
                   output: Path | None = None) -> None:
    """Remember the team summary of the revision being stored, for the next to take sheets from,
    ``files`` (name → [content key, stat]) that the next may take whole, and the ``output``
    folder the revision is published to (:mod:`kpi.ledger.publication` finishes a publication
    a kill interrupted)."""
    summary = {"stat": stat, "sheets": list(sheets), "files": files or {}}
    if output is not None:
        summary["output"] = str(Path(output).resolve())
    db.execute("UPDATE revisions SET summary = ? WHERE id = ?", (json.dumps(summary), started.id))


class Revision(NamedTuple):
    """A revision being recorded: its row id, its number, the fingerprints and row id of the one before."""

    id: int
    number: int
    before: dict[str, str]
    previous_id: int | None = None
    ruleset: str = ""        # the sha256 of the rules stored for its rows (kpi.ledger.explanations)


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
    return Revision(cursor.lastrowid, revision, before, None if previous is None else previous["id"],
                    explanations.add_ruleset(db, ruleset))


def add(db, rows: Sequence[tuple], copies: Sequence[tuple] = (), carried: Sequence[tuple] = (),
        items: Sequence[tuple[str, str]] = ()) -> None:
    """Store result rows made by :func:`result_row` with their item records ``items``
    (:func:`kpi.ledger.explanations.stored_records`), and copy those of :func:`copied_row`
    and :func:`carried_row`."""
    db.executemany("INSERT OR IGNORE INTO records (sha256, items) VALUES (?, ?)", items)
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
         "card_revision", "card_stat", "card_path",
         "explain_sha256", "records_sha256", "ruleset_sha256")  # what a copied row takes over
_COLUMNS = ", ".join(("revision_id", "agent_id", "inputs", "input_key", "payroll_row") + _KEPT)
INSERT_RESULT = f"INSERT INTO results ({_COLUMNS}) VALUES ({', '.join('?' for _ in range(5 + len(_KEPT)))})"
COPY_RESULT = (f"INSERT INTO results ({_COLUMNS}) SELECT ?, agent_id, ?, ?, ?, {', '.join(_KEPT)} FROM results "
               "WHERE revision_id = ? AND agent_id = ?")
CARRY_RESULT = (f"INSERT INTO results ({_COLUMNS}) SELECT ?, agent_id, json_set(inputs, '$.origin', ?), input_key, "
                f"payroll_row, {', '.join(_KEPT)} FROM results WHERE revision_id = ? AND agent_id = ?")
NO_CARD = ("", None, "", "")


def result_row(revision_id: int, result: AgentResult, sealed: str, records_sha256: str, ruleset_sha256: str,
               card: tuple = NO_CARD, key: str = "", row: str = "") -> tuple:
    """The ledger row of ``result``: its :func:`fingerprint` ``sealed`` (the caller keeps it for
    :func:`finish` too), the hashes of its item records and of the rules that scored them
    (:mod:`kpi.ledger.explanations`), ``card`` (key, revision that wrote it, file stat, path)
    of its scorecard; its input ``key`` and encoded payroll ``row``, for a re-score to take it back."""
    agent, pay = result.agent, result.pay
    return (revision_id, agent.agent_id, _compact(stored_inputs(agent)), key, row,
            agent.name, agent.team, agent.level, _compact(stored_result(result)),
            sealed, numbers.plain(result.total), str(pay.band), numbers.money(pay.total_pay),
            pay.level_change.value, *card, "", records_sha256, ruleset_sha256)


def _clear_answers(db, period: str, agent_ids: Sequence[str], revision: int) -> None:
    for agent_id in agent_ids:
        db.execute("UPDATE answers SET cleared_at = ?, cleared_note = ?, cleared_revision = ? WHERE period = ? "
                   "AND agent_id = ? AND cleared_at IS NULL",
                   (now(), f"result changed in revision {revision}", revision, period, agent_id))
