"""The ledger's hash chain, pure: which tables are chained and how a link is made.

Every change to a chained table (a row put or deleted) appends one link:
``link = sha256(previous link + canonical JSON of {table, op, key, digest})``,
where ``digest`` is the sha256 of the row's canonical JSON (keys sorted, no
spaces, UTF-8). Rewriting, inserting or deleting any link, or any chained
row behind the chain's back, breaks either the walk of the links or the
comparison of the rows with their latest digests (:mod:`kpi.ledger.integrity` does
both on the ledger).

To chain a new table, add ONE line to :data:`REGISTRY`: its name, the columns
that identify a row, the columns hashed (every column that matters), and how a
row names its month (a column, an SQL expression over ``{row}``, or ``""``).
The ledger links the rows the table already holds when it first sees the entry.

A table whose rows are named by the sha256 of their content (the item records and
rules that result rows point to) needs no link of its own: its row cannot change
without losing its name, and the chained row that names it cannot either. Such a
table is in :data:`ADDRESSED`: the check is that each row's name is its content's
sha256 and that every name a chained row gives is there. A link per row would cost
as much as all of a month's other ledger work (measured: docs/performance.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import NamedTuple

import orjson

GENESIS = "0" * 64


class Chained(NamedTuple):
    """A chained table: ``key`` identifies a row, ``columns`` are hashed, ``period`` is a
    column name or an SQL expression over ``{row}`` (NEW/OLD in triggers) giving its month."""

    table: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    period: str = "period"


_RESULT_COLUMNS = ("revision_id", "agent_id", "name", "team", "level", "inputs", "result", "fingerprint", "total",
                   "band", "pay", "level_change", "card_key", "card_revision", "card_stat", "card_path", "input_key",
                   "payroll_row", "explain_sha256", "records_sha256", "ruleset_sha256")

REGISTRY: tuple[Chained, ...] = (
    Chained("months", ("period",), ("period", "status", "closed_revision", "closed_at", "closed_by", "close_note")),
    Chained("revisions", ("id",), ("id", "period", "revision", "scored_at", "scored_by", "input_file",
                                   "input_sha256", "rules", "summary")),
    Chained("results", ("revision_id", "agent_id"), _RESULT_COLUMNS,
            "(SELECT period FROM revisions WHERE id = {row}.revision_id)"),
    Chained("explanations", ("sha256",), ("sha256", "texts"), ""),   # rows stored before issue 21
    Chained("answers", ("id",), ("id", "period", "agent_id", "revision", "answer", "reason", "via", "recorded_at",
                                 "recorded_by", "cleared_at", "cleared_note", "cleared_revision")),
    Chained("decisions", ("period", "agent_id"), ("period", "agent_id", "change", "decided_at", "decided_by",
                                                  "recommendation", "reason")),
    Chained("next_levels", ("period", "agent_id"), ("period", "agent_id", "level_from", "level_to", "change", "flag")),
    Chained("audit", ("id",), ("id", "at", "who", "action", "period", "detail", "client")),  # client: 23
    # ---- other issues: add a line per new table here
    Chained("objection_decisions", ("id",), ("id", "period", "agent_id", "answer_id", "revision", "decision",
                                             "reason", "decided_at", "decided_by")),   # issue 22
    Chained("sheets", ("id",), ("id", "period", "team", "file_name", "sha256", "uploaded_at", "uploaded_by")),  # 23
    Chained("users", ("name",), ("name", "role", "teams", "agent_id", "password_hash", "must_change", "disabled",
                                 "created_at", "changed_at"), ""),   # issue 23
)


class Addressed(NamedTuple):
    """A content-addressed table: each row's ``key`` column is the sha256 (hex) of its
    ``content`` column's UTF-8 text; ``named_by`` lists the (table, column) of chained rows
    that name its rows ("" in that column: names none)."""

    table: str
    key: str
    content: str
    named_by: tuple[tuple[str, str], ...]


ADDRESSED: tuple[Addressed, ...] = (
    Addressed("records", "sha256", "items", (("results", "records_sha256"),)),        # issue 21
    Addressed("rulesets", "sha256", "ruleset", (("results", "ruleset_sha256"),)),     # issue 21
)


def address(content: str | bytes) -> str:
    """The name of a content-addressed row: the sha256 of its content's UTF-8 text (or of
    that text already encoded)."""
    return hashlib.sha256(content.encode("utf-8") if isinstance(content, str) else content).hexdigest()


def registered(table: str) -> Chained | None:
    return next((entry for entry in REGISTRY if entry.table == table), None)


def canonical(document: object) -> bytes:
    """Canonical JSON: keys sorted, no spaces, UTF-8."""
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def digest(row_json: str | None) -> str:
    """The sha256 of a row given as JSON text (any key order, any spacing); "" for none (a delete)."""
    if row_json is None:
        return ""
    return hashlib.sha256(canonical(orjson.loads(row_json))).hexdigest()


def link(previous: str | None, table: str, op: str, key_json: str, row_digest: str) -> str:
    """The link after ``previous`` for ``op`` (put | del) of row ``key_json`` of ``table``."""
    payload = canonical({"table": table, "op": op, "key": key_json, "digest": row_digest})
    return hashlib.sha256((previous or GENESIS).encode("ascii") + payload).hexdigest()


class Link(NamedTuple):
    """A stored link: its number, what it records and its hash."""

    id: int
    table: str
    op: str
    key: str
    digest: str
    link: str


def first_broken(links: Iterable[Link], previous: str = GENESIS, first_id: int = 1) -> tuple[int, str] | None:
    """(link id, why) of the first link that does not follow from the one before it, or None.

    ``links`` are in id order from ``first_id``; ids must follow each other (a gap is a deleted link).
    """
    expected_id = first_id
    for stored in links:
        if stored.id != expected_id:
            return expected_id, "missing"
        if link(previous, stored.table, stored.op, stored.key, stored.digest) != stored.link:
            return stored.id, "changed"
        previous, expected_id = stored.link, expected_id + 1
    return None
