"""The ledger: an embedded SQLite database that remembers every scored month (an edge).

Created on first use with file mode 0600; its schema is versioned by
``PRAGMA user_version`` and each migration runs once, inside a transaction.
Every write happens in one ``BEGIN IMMEDIATE`` transaction, so a crash or a
kill leaves the ledger as it was, and a second kpi process waits for the lock
(``KPI_DB_TIMEOUT`` seconds, default 10) and then fails with a clear message.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import getpass
import json
import os
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from kpi.ledger import integrity, publication
from kpi.core.errors import KpiError

DEFAULT_PATH = "kpi.db"

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE months (
            period TEXT PRIMARY KEY,
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
            closed_revision INTEGER, closed_at TEXT, closed_by TEXT, close_note TEXT)""",
        """CREATE TABLE revisions (
            id INTEGER PRIMARY KEY,
            period TEXT NOT NULL REFERENCES months(period),
            revision INTEGER NOT NULL,
            scored_at TEXT NOT NULL, scored_by TEXT NOT NULL,
            input_file TEXT NOT NULL, input_sha256 TEXT NOT NULL,
            rules TEXT NOT NULL,
            UNIQUE (period, revision))""",
        """CREATE TABLE results (
            revision_id INTEGER NOT NULL REFERENCES revisions(id),
            agent_id TEXT NOT NULL, name TEXT NOT NULL, team TEXT NOT NULL, level TEXT NOT NULL,
            inputs TEXT NOT NULL, result TEXT NOT NULL, fingerprint TEXT NOT NULL,
            total TEXT NOT NULL, band TEXT NOT NULL, pay TEXT NOT NULL, level_change TEXT NOT NULL,
            PRIMARY KEY (revision_id, agent_id))""",
        """CREATE TABLE answers (
            id INTEGER PRIMARY KEY,
            period TEXT NOT NULL, agent_id TEXT NOT NULL, revision INTEGER NOT NULL,
            answer TEXT NOT NULL CHECK (answer IN ('confirm', 'object')), reason TEXT NOT NULL DEFAULT '',
            via TEXT NOT NULL, recorded_at TEXT NOT NULL, recorded_by TEXT NOT NULL,
            cleared_at TEXT, cleared_note TEXT)""",
        """CREATE TABLE decisions (
            period TEXT NOT NULL, agent_id TEXT NOT NULL, change TEXT NOT NULL,
            decided_at TEXT NOT NULL, decided_by TEXT NOT NULL,
            PRIMARY KEY (period, agent_id))""",
        """CREATE TABLE next_levels (
            period TEXT NOT NULL, agent_id TEXT NOT NULL,
            level_from TEXT NOT NULL, level_to TEXT NOT NULL, change TEXT NOT NULL, flag TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (period, agent_id))""",
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY, at TEXT NOT NULL, who TEXT NOT NULL,
            action TEXT NOT NULL, period TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '')""",
        "CREATE INDEX answers_by_agent ON answers (period, agent_id)",
    ),
    (
        "ALTER TABLE results ADD COLUMN card_key TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE results ADD COLUMN card_revision INTEGER",
        "ALTER TABLE results ADD COLUMN card_stat TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE results ADD COLUMN card_path TEXT NOT NULL DEFAULT ''",
    ),
    (
        "ALTER TABLE results ADD COLUMN input_key TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE results ADD COLUMN payroll_row TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE revisions ADD COLUMN summary TEXT NOT NULL DEFAULT ''",
        "CREATE TABLE explanations (sha256 TEXT PRIMARY KEY, texts TEXT NOT NULL)",
        "ALTER TABLE results ADD COLUMN explain_sha256 TEXT NOT NULL DEFAULT ''",
    ),
    (   # the hash chain (kpi.ledger.integrity; its tables' rows are linked by integrity.install) and the
        # ledger's secret, which keys the scorecards' seals (kpi.core.seal): made once, never printed
        *integrity.SCHEMA,
        "CREATE TABLE ledger_secret (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        lambda db: db.execute("INSERT INTO ledger_secret VALUES ('seal', ?)", (secrets.token_hex(32),)),
    ),
    (   # issue 22: the manager's decision on an objection, who decided a level change and on what
        """CREATE TABLE objection_decisions (
            id INTEGER PRIMARY KEY,
            period TEXT NOT NULL, agent_id TEXT NOT NULL, answer_id INTEGER NOT NULL REFERENCES answers(id),
            revision INTEGER NOT NULL,
            decision TEXT NOT NULL CHECK (decision IN ('uphold', 'reject')), reason TEXT NOT NULL,
            decided_at TEXT NOT NULL, decided_by TEXT NOT NULL,
            UNIQUE (answer_id))""",
        "CREATE INDEX objection_decisions_by_agent ON objection_decisions (period, agent_id)",
        "ALTER TABLE answers ADD COLUMN cleared_revision INTEGER",
        "ALTER TABLE decisions ADD COLUMN recommendation TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE decisions ADD COLUMN reason TEXT NOT NULL DEFAULT ''",
    ),
    (   # issue 23: the web workspace's accounts, sessions, login failures and uploaded team sheets
        """CREATE TABLE users (
            name TEXT PRIMARY KEY,
            role TEXT NOT NULL CHECK (role IN ('hr', 'manager', 'supervisor', 'agent')),
            teams TEXT NOT NULL DEFAULT '[]', agent_id TEXT NOT NULL DEFAULT '',
            password_hash TEXT NOT NULL, must_change INTEGER NOT NULL DEFAULT 0,
            disabled INTEGER NOT NULL DEFAULT 0, lang TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL, changed_at TEXT NOT NULL)""",
        """CREATE TABLE sessions (
            token_sha256 TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(name),
            created REAL NOT NULL, seen REAL NOT NULL, client TEXT NOT NULL DEFAULT '')""",
        """CREATE TABLE login_failures (
            id INTEGER PRIMARY KEY, name TEXT NOT NULL, client TEXT NOT NULL, at REAL NOT NULL)""",
        "CREATE INDEX login_failures_by_name ON login_failures (name, at)",
        "CREATE INDEX login_failures_by_client ON login_failures (client, at)",
        """CREATE TABLE sheets (
            id INTEGER PRIMARY KEY, period TEXT NOT NULL, team TEXT NOT NULL,
            file_name TEXT NOT NULL, sha256 TEXT NOT NULL, content BLOB NOT NULL,
            uploaded_at TEXT NOT NULL, uploaded_by TEXT NOT NULL)""",
        "CREATE INDEX sheets_by_team ON sheets (period, team, id)",
        "ALTER TABLE audit ADD COLUMN client TEXT NOT NULL DEFAULT ''",
    ),
    (   # issue 21: the ledger keeps each agent's item records (kpi.core.records) and the rules that
        # scored them, and renders the explanations when shown; rows stored before keep their texts
        "CREATE TABLE records (sha256 TEXT PRIMARY KEY, items TEXT NOT NULL)",
        "CREATE TABLE rulesets (sha256 TEXT PRIMARY KEY, ruleset TEXT NOT NULL)",
        "ALTER TABLE results ADD COLUMN records_sha256 TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE results ADD COLUMN ruleset_sha256 TEXT NOT NULL DEFAULT ''",
    ),
    (   # issue 21: records and rulesets, named by their content's sha256, are never changed or deleted
        integrity.guard,
    ),
)


class LedgerError(KpiError, RuntimeError):
    """The ledger cannot be used: ``code`` is a message key, ``params`` fill it."""

    def __init__(self, code: str, **params: str):
        self.code, self.params = code, params
        super().__init__(f"{code}: {params}")


def now() -> str:
    """The current time, ISO 8601 with the local offset (what the ledger records)."""
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


class Actor(NamedTuple):
    """Who acts through the web workspace (its account name) and from which client address."""

    name: str
    client: str = ""


_ACTOR: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("kpi_actor", default=None)


@contextlib.contextmanager
def acting(name: str, client: str = "") -> Iterator[None]:
    """Record ``name`` (and ``client``) instead of the system user in every row written meanwhile:
    the web workspace calls the same library functions as the command line on behalf of its users."""
    token = _ACTOR.set(Actor(name, client))
    try:
        yield
    finally:
        _ACTOR.reset(token)


def user() -> str:
    """Who runs kpi, for the record: the web user acting (:func:`acting`), else the system user."""
    actor = _ACTOR.get()
    if actor is not None:
        return actor.name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def resolve(path: str | os.PathLike | None) -> Path:
    return Path(path or os.environ.get("KPI_DB") or DEFAULT_PATH)


class Ledger:
    """An open ledger; use :meth:`write` for every change and :meth:`rows` to read."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = resolve(path)
        _create_private(self.path)
        timeout = float(os.environ.get("KPI_DB_TIMEOUT", "10"))
        try:
            self.db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA recursive_triggers = ON")  # INSERT OR REPLACE's deletions are chained too
            integrity.register(self.db)
            self._migrate()
            self._chain()
            publication.settle(self)  # a publication a kill interrupted is finished before anything is read
        except sqlite3.DatabaseError as error:
            raise _translate(error, self.path) from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is kept, or none of it."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as error:
            raise _translate(error, self.path) from None
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        try:
            self.db.execute("COMMIT")
        except sqlite3.DatabaseError as error:
            raise _translate(error, self.path) from None

    def rows(self, sql: str, *params) -> list[sqlite3.Row]:
        """The rows of a read query, as mappings."""
        self.db.row_factory = sqlite3.Row
        try:
            return self.db.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as error:
            raise _translate(error, self.path) from None

    def audit(self, db: sqlite3.Connection, action: str, period: str = "", detail: object = "",
              who: str | None = None) -> None:
        """Record an action in the audit log (inside the caller's transaction), done by ``who``
        (default :meth:`user`: the web UI passes the person signed in)."""
        text = detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False, sort_keys=True)
        actor = _ACTOR.get()
        db.execute("INSERT INTO audit (at, who, action, period, detail, client) VALUES (?, ?, ?, ?, ?, ?)",
                   (now(), who or self.user(), action, period, text, actor.client if actor else ""))

    @staticmethod
    def user() -> str:
        """Who acts when no one else is named: the web user acting, else the account running kpi."""
        return user()

    def _migrate(self) -> None:
        current = self.db.execute("PRAGMA user_version").fetchone()[0]
        for number, statements in enumerate(MIGRATIONS[current:], start=current + 1):
            with self.write() as db:
                if db.execute("PRAGMA user_version").fetchone()[0] >= number:
                    continue  # another process migrated meanwhile
                for statement in statements:
                    statement(db) if callable(statement) else db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")

    def _chain(self) -> None:
        """Chain the tables of :data:`kpi.core.chain.REGISTRY` not chained yet (:func:`kpi.ledger.integrity.install`)."""
        if not integrity.needs_install(self.db):
            return
        with self.write() as db:
            if integrity.needs_install(db):
                try:
                    integrity.install(db)
                except integrity.IntegrityError as error:
                    raise tampered(error.finding, self.path) from None

    @property
    def secret(self) -> bytes:
        """The ledger's own secret (keys the scorecard seals); never printed or logged."""
        return bytes.fromhex(self.db.execute("SELECT value FROM ledger_secret WHERE name = 'seal'").fetchone()[0])

    def require_intact(self, *periods: str) -> None:
        """Refuse to build on a month whose rows or links were changed behind kpi's back."""
        try:
            integrity.require_intact(self.db, periods)
        except integrity.IntegrityError as error:
            raise tampered(error.finding, self.path) from None
        except sqlite3.DatabaseError as error:
            raise _translate(error, self.path) from None

    def verify(self) -> integrity.Report:
        """The whole ledger checked: SQLite's integrity, the chain's links, every chained row."""
        try:
            return integrity.verify(self.db)
        except sqlite3.DatabaseError as error:  # damaged beyond what integrity_check can report
            finding = integrity.Finding("integrity", "", "", 0, str(error))
            return integrity.Report(finding, 1, 0, "", (finding,))

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]


def _create_private(path: Path) -> None:
    """Create an empty ledger file readable by its owner only (0600)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
    except OSError as error:
        raise LedgerError("ledger_unusable", path=str(path), reason=error.strerror or str(error)) from None
    os.chmod(path, 0o600)


def tampered(finding: integrity.Finding, path: Path) -> LedgerError:
    """The error of a broken chain, naming the first row or link concerned."""
    return LedgerError(f"tampered_{finding.what}", path=str(path), table=finding.table, row=finding.key,
                       link=str(finding.link), detail=finding.detail)


def _translate(error: sqlite3.DatabaseError, path: Path) -> LedgerError:
    text = str(error)
    if "locked" in text or "busy" in text:
        return LedgerError("ledger_busy", path=str(path))
    return LedgerError("ledger_unusable", path=str(path), reason=text)


BOOKKEEPING = {"ledger_secret", "chain_tables", "sqlite_sequence"}  # filled when a ledger is made, not by a command


def discard_if_empty(path: str | os.PathLike | None) -> bool:
    """Remove the ledger at ``path`` (and SQLite's side files) if it records nothing: what a
    command that created it and then failed leaves. Returns whether it was removed."""
    path = resolve(path)
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                      if row[0] not in BOOKKEEPING]
            if any(db.execute(f'SELECT 1 FROM "{name}" LIMIT 1').fetchone() for name in tables):
                return False
    except sqlite3.DatabaseError:
        if path.is_file() and path.stat().st_size > 0:
            return False  # not a ledger kpi made: leave it
    for suffix in ("", "-journal", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
            os.unlink(f"{path}{suffix}")
    return True
