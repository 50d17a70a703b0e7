"""The ledger's hash chain on SQLite: triggers that link every change, and the checks (an edge).

Each table of :data:`kpi.core.chain.REGISTRY` gets three triggers that append a
link to the ``chain`` table for every row inserted, updated or deleted, in the
same transaction as the change (so a rollback takes the link back too). The
hashing is :mod:`kpi.core.chain`'s, registered as the SQL functions ``kpi_digest``
and ``kpi_link``: a change made with another SQLite client fails ("no such
function") unless the triggers are dropped first, and then :func:`verify`
finds the row that no longer matches its link.

:func:`install` runs at every opening of the ledger: a table new to the
registry (or whose hashed columns changed) has its current rows linked once.
:func:`verify` checks SQLite's integrity, the walk of the links and every
chained row against its latest link; :func:`require_intact` is the check of one
month that every writing command makes before it builds on that month.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from kpi.core import chain

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS chain (
        id INTEGER PRIMARY KEY, tbl TEXT NOT NULL, op TEXT NOT NULL, key TEXT NOT NULL,
        period TEXT NOT NULL DEFAULT '', digest TEXT NOT NULL, link TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS chain_by_period ON chain (period)",
    "CREATE INDEX IF NOT EXISTS chain_by_row ON chain (tbl, key)",
    "CREATE TABLE IF NOT EXISTS chain_tables (tbl TEXT PRIMARY KEY, spec TEXT NOT NULL)",
)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Finding(NamedTuple):
    """The first thing wrong: ``what`` is integrity | trigger | link | changed | added | deleted;
    ``table`` and ``key`` name the row (``key`` is JSON), ``link`` the chain link concerned (0 if none)."""

    what: str
    table: str
    key: str
    link: int
    detail: str = ""


SHOWN = 10  # findings kept in a report beyond the count


class Report(NamedTuple):
    """What :func:`verify` found: the first finding (None when intact), how many in all, the
    links checked, the chain's head link, the first :data:`SHOWN` findings."""

    first: Finding | None
    count: int
    links: int
    head: str
    shown: tuple[Finding, ...] = ()


def register(db: sqlite3.Connection) -> None:
    """The hashing functions the triggers call (on every connection kpi opens)."""
    db.create_function("kpi_digest", 1, chain.digest, deterministic=True)
    db.create_function("kpi_link", 5, chain.link, deterministic=True)


# ------------------------------------------------------------------ triggers and adoption
def _tables(db: sqlite3.Connection) -> set[str]:
    """The names of the ledger's tables."""
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _spec(entry: chain.Chained) -> str:
    return json.dumps({"key": entry.key, "columns": entry.columns, "period": entry.period}, sort_keys=True)


def _tag(spec: str) -> str:
    return hashlib.sha256(spec.encode()).hexdigest()[:10]


def _row_sql(columns: Sequence[str], row: str) -> str:
    return "json_object(" + ", ".join(f"'{c}', {row}.{c}" for c in columns) + ")"


def _key_sql(key: Sequence[str], row: str) -> str:
    return "json_array(" + ", ".join(f"{row}.{c}" for c in key) + ")"


def _period_sql(period: str, row: str) -> str:
    if not period:
        return "''"
    if _IDENTIFIER.match(period):
        return f"COALESCE({row}.{period}, '')"
    return f"COALESCE({period.format(row=row)}, '')"


def _append_sql(entry: chain.Chained, op: str, row: str, condition: str = "") -> str:
    digest = "''" if op == "del" else f"kpi_digest({_row_sql(entry.columns, row)})"
    return (f"INSERT INTO chain (tbl, op, key, period, digest, link) "
            f"SELECT '{entry.table}', '{op}', k, p, d, kpi_link((SELECT link FROM chain ORDER BY id DESC LIMIT 1), "
            f"'{entry.table}', '{op}', k, d) FROM (SELECT {_key_sql(entry.key, row)} AS k, "
            f"{_period_sql(entry.period, row)} AS p, {digest} AS d){condition};")


def _triggers(entry: chain.Chained, tag: str) -> list[str]:
    name, table = f"chain_{entry.table}_{tag}", entry.table
    moved = f" WHERE {_key_sql(entry.key, 'OLD')} IS NOT {_key_sql(entry.key, 'NEW')}"
    return [
        f"CREATE TRIGGER {name}_ins AFTER INSERT ON {table} BEGIN {_append_sql(entry, 'put', 'NEW')} END",
        f"CREATE TRIGGER {name}_upd AFTER UPDATE ON {table} BEGIN {_append_sql(entry, 'del', 'OLD', moved)} "
        f"{_append_sql(entry, 'put', 'NEW')} END",
        f"CREATE TRIGGER {name}_del AFTER DELETE ON {table} BEGIN {_append_sql(entry, 'del', 'OLD')} END",
    ]


def guard(db: sqlite3.Connection) -> None:
    """The content-addressed tables' guards: a row named by its content is never changed or
    deleted (kpi only inserts them), so a trigger refuses both. A plain SQLite client must
    drop a guard first, which every writing command's check notices (:func:`_missing_triggers`);
    an edit of the content itself is found by :func:`verify` (the row no longer gives its name)."""
    tables = _tables(db)
    for entry in chain.ADDRESSED:
        if entry.table in tables:
            for name, event in zip(sorted(_guard_names(entry)), ("DELETE", "UPDATE")):
                db.execute(f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {event} ON {entry.table} "
                           f"BEGIN SELECT RAISE(ABORT, 'kpi: a row named by its content is never {event.lower()}d'); END")


def _guard_names(entry: chain.Addressed) -> set[str]:
    return {f"guard_{entry.table}_del", f"guard_{entry.table}_upd"}


def _trigger_names(entry: chain.Chained, tag: str) -> set[str]:
    return {f"chain_{entry.table}_{tag}_{kind}" for kind in ("ins", "upd", "del")}


def needs_install(db: sqlite3.Connection) -> bool:
    """Whether a table of the registry is not chained as the registry says (one quick read)."""
    tables = _tables(db)
    if "chain_tables" not in tables:
        return False
    known = dict(db.execute("SELECT tbl, spec FROM chain_tables"))
    return (any(entry.table in tables and known.get(entry.table) != _spec(entry) for entry in chain.REGISTRY)
            or any(entry.table in known for entry in chain.ADDRESSED))


def install(db: sqlite3.Connection) -> None:
    """Chain every registered table as the registry says (inside the caller's write transaction).

    A table seen for the first time has its rows linked as they are; a table whose hashed
    columns changed is checked against its old links first, then its rows are linked again
    with the new columns. Triggers dropped by hand are not put back here: :func:`verify`
    reports them."""
    tables = _tables(db)
    known = dict(db.execute("SELECT tbl, spec FROM chain_tables"))
    _unchain_addressed(db, known)
    for entry in chain.REGISTRY:
        spec = _spec(entry)
        if entry.table not in tables or known.get(entry.table) == spec:
            continue
        if entry.table not in known and db.execute("SELECT 1 FROM chain WHERE tbl = ? LIMIT 1",
                                                   (entry.table,)).fetchone():
            raise IntegrityError(Finding("trigger", entry.table, "", 0, "chain_tables"))  # its record was deleted
        if entry.table in known:
            _require_linked(db, entry.table, known[entry.table])
        _drop_triggers(db, entry.table)
        _link_rows(db, entry)
        for statement in _triggers(entry, _tag(spec)):
            db.execute(statement)
        db.execute("INSERT OR REPLACE INTO chain_tables (tbl, spec) VALUES (?, ?)", (entry.table, spec))


def _unchain_addressed(db: sqlite3.Connection, known: dict[str, str]) -> None:
    """A content-addressed table an older build chained row by row: its rows are checked
    against their links one last time, then its triggers go (its links stay in the chain;
    from now on :func:`_check_addressed` guards it)."""
    for entry in chain.ADDRESSED:
        if entry.table not in known:
            continue
        _require_linked(db, entry.table, known[entry.table])
        _drop_triggers(db, entry.table)
        db.execute("DELETE FROM chain_tables WHERE tbl = ?", (entry.table,))


def _require_linked(db: sqlite3.Connection, table: str, spec: str) -> None:
    """Raise :class:`IntegrityError` unless every row of ``table`` matches its latest link, as
    the chain recorded it (``spec``): the check before its links are made anew or left behind."""
    old = _entry(table, spec)
    found = _check_rows(db, [old], None, _state(db, None, {table}))
    if found:
        raise IntegrityError(found[0])


def _drop_triggers(db: sqlite3.Connection, table: str) -> None:
    """Drop the chain's triggers on ``table``."""
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE ? ESCAPE '\\'",
                              (f"chain\\_{table}\\_%",)).fetchall():
        if re.fullmatch(rf"chain_{re.escape(table)}_[0-9a-f]{{10}}_(ins|upd|del)", name):
            db.execute(f"DROP TRIGGER {name}")


def _link_rows(db: sqlite3.Connection, entry: chain.Chained) -> None:
    """Link every row of ``entry``'s table as it is now (in rowid order)."""
    previous = db.execute("SELECT link FROM chain ORDER BY id DESC LIMIT 1").fetchone()
    previous = previous[0] if previous else chain.GENESIS
    rows = db.execute(f"SELECT {_key_sql(entry.key, entry.table)}, {_period_sql(entry.period, entry.table)}, "
                      f"{_row_sql(entry.columns, entry.table)} FROM {entry.table} ORDER BY rowid").fetchall()
    links = []
    for key, period, row in rows:
        digest = chain.digest(row)
        previous = chain.link(previous, entry.table, "put", key, digest)
        links.append((entry.table, "put", key, period, digest, previous))
    db.executemany("INSERT INTO chain (tbl, op, key, period, digest, link) VALUES (?, ?, ?, ?, ?, ?)", links)


def _entry(table: str, spec: str) -> chain.Chained:
    data = json.loads(spec)
    return chain.Chained(table, tuple(data["key"]), tuple(data["columns"]), data["period"])


class IntegrityError(Exception):
    """The ledger's chain is broken; ``finding`` says where."""

    def __init__(self, finding: Finding):
        self.finding = finding
        super().__init__(str(finding))


# ------------------------------------------------------------------ checks
def chained(db: sqlite3.Connection) -> list[chain.Chained]:
    """The tables the ledger chains, as it recorded them."""
    try:
        return [_entry(t, s) for t, s in db.execute("SELECT tbl, spec FROM chain_tables ORDER BY tbl")]
    except sqlite3.OperationalError:
        return []


def verify(db: sqlite3.Connection, period: str | None = None, full_integrity: bool = True) -> Report:
    """Check the ledger (all of it, or the rows and links of one ``period``): SQLite's own
    integrity, the chain's triggers, the walk of its links, every row against its latest link."""
    head = db.execute("SELECT id, link FROM chain ORDER BY id DESC LIMIT 1").fetchone()
    links = head[0] if head else 0
    head_link = head[1] if head else chain.GENESIS
    if full_integrity:
        problems = [r[0] for r in db.execute("PRAGMA integrity_check(20)")]
        if problems != ["ok"]:
            first = Finding("integrity", "", "", 0, "; ".join(problems))
            return Report(first, len(problems), links, head_link, (first,))
    entries = chained(db)
    findings = _missing_triggers(db, entries)
    broken = _walk(db, period)
    if broken is not None:
        findings.append(Finding("link", "chain", json.dumps([broken[0]]), broken[0], broken[1]))
    findings += _check_rows(db, entries, period, _state(db, period, {e.table for e in entries}))
    findings += _check_addressed(db, period)
    findings.sort(key=lambda f: (f.what == "trigger", f.link or float("inf")))
    return Report(findings[0] if findings else None, len(findings), links, head_link, tuple(findings[:SHOWN]))


def _missing_triggers(db: sqlite3.Connection, entries: Iterable[chain.Chained]) -> list[Finding]:
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    found = []
    for entry in entries:
        missing = sorted(_trigger_names(entry, _tag(_spec(entry))) - names)
        if missing:
            found.append(Finding("trigger", entry.table, "", 0, missing[0]))
    tables = _tables(db)
    for addressed in chain.ADDRESSED:
        missing = sorted(_guard_names(addressed) - names) if addressed.table in tables else []
        if missing:
            found.append(Finding("trigger", addressed.table, "", 0, missing[0]))
    return found


def _walk(db: sqlite3.Connection, period: str | None) -> tuple[int, str] | None:
    """The first link that does not follow from the one before it (all links, or those of ``period``)."""
    if period is None:
        rows = db.execute("SELECT id, tbl, op, key, digest, link FROM chain ORDER BY id")
        return chain.first_broken(chain.Link(*row) for row in rows)
    rows = db.execute("SELECT c.id, c.tbl, c.op, c.key, c.digest, c.link, p.id, p.link FROM chain c "
                      "LEFT JOIN chain p ON p.id = c.id - 1 WHERE c.period = ? ORDER BY c.id", (period,))
    for *stored, before_id, before_link in rows:
        stored = chain.Link(*stored)
        if stored.id > 1 and before_id is None:
            return stored.id - 1, "missing"
        found = chain.first_broken([stored], before_link or chain.GENESIS, stored.id)
        if found:
            return found
    return None


def _state(db: sqlite3.Connection, period: str | None, tables: set[str]) -> dict[tuple[str, str], tuple[int, str, str]]:
    """(table, key) → (link id, op, digest) of each row's latest link."""
    where, params = ("WHERE period = ?", (period,)) if period is not None else ("", ())
    rows = db.execute(f"SELECT id, tbl, key, op, digest FROM chain WHERE id IN "
                      f"(SELECT MAX(id) FROM chain {where} GROUP BY tbl, key)", params)
    return {(t, k): (i, op, d) for i, t, k, op, d in rows if t in tables}


def _check_rows(db: sqlite3.Connection, entries: Sequence[chain.Chained], period: str | None,
                state: dict[tuple[str, str], tuple[int, str, str]]) -> list[Finding]:
    """Every current row of ``entries`` (of ``period``) against its latest link; links of rows gone."""
    found = []
    for entry in entries:
        where, params = "", ()
        if period is not None:
            if not entry.period:
                continue
            where, params = f" WHERE {_period_sql(entry.period, entry.table)} = ?", (period,)
        rows = db.execute(f"SELECT {_key_sql(entry.key, entry.table)}, {_row_sql(entry.columns, entry.table)} "
                          f"FROM {entry.table}{where}", params)
        for key, row in rows:
            linked = state.pop((entry.table, key), None)
            if linked is None or linked[1] != "put":
                found.append(Finding("added", entry.table, key, linked[0] if linked else 0))
            elif linked[2] != chain.digest(row):
                found.append(Finding("changed", entry.table, key, linked[0]))
    listed = {e.table for e in entries if period is None or e.period}
    for (table, key), (link_id, op, _) in state.items():
        if op == "put" and table in listed:
            found.append(Finding("deleted", table, key, link_id))
    return found


def _check_addressed(db: sqlite3.Connection, period: str | None) -> list[Finding]:
    """The content-addressed tables (:data:`kpi.core.chain.ADDRESSED`): every name a chained row
    of ``period`` (all: None) gives is there ("missing"); with all periods, every row's name
    is also its content's sha256 ("mismatch")."""
    tables = _tables(db)
    found = []
    for entry in chain.ADDRESSED:
        if entry.table not in tables:
            continue
        for table, column in entry.named_by:
            where, params = "", ()
            if period is not None:
                named = chain.registered(table)
                if named is None or not named.period:
                    continue
                where, params = f" AND {_period_sql(named.period, 'n')} = ?", (period,)
            rows = db.execute(f"SELECT DISTINCT n.{column} FROM {table} n LEFT JOIN {entry.table} a "
                              f"ON a.{entry.key} = n.{column} WHERE n.{column} != '' AND a.{entry.key} IS NULL"
                              f"{where}", params)
            found += [Finding("missing", entry.table, json.dumps([name]), 0, f"{table}.{column}") for (name,) in rows]
        if period is None:
            for name, content in db.execute(f"SELECT {entry.key}, {entry.content} FROM {entry.table}"):
                if not isinstance(content, str) or chain.address(content) != name:
                    found.append(Finding("mismatch", entry.table, json.dumps([name]), 0))
    return found


def require_intact(db: sqlite3.Connection, periods: Iterable[str]) -> None:
    """Raise :class:`IntegrityError` if the chain of any of ``periods`` is broken (a writing
    command's check before it builds on a month)."""
    for period in dict.fromkeys(periods):
        report = verify(db, period, full_integrity=False)
        if report.first is not None:
            raise IntegrityError(report.first)
