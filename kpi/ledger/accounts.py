"""Accounts of the web workspace: users and roles, passwords, sessions, login throttling (uses the ledger).

Passwords are hashed with argon2 (argon2-cffi) and never stored, logged or
audited in clear. A session is a random token held in an HttpOnly cookie; the
ledger keeps only its sha256, with its creation and last-seen times for the idle
and absolute expiry. Five failed logins of a name within 15 minutes lock that
name for 15 minutes (and twenty from one client address lock that client), and
every failure and lock goes into the audit log.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kpi.core import i18n, identity
from kpi.core.errors import KpiError
from kpi.ledger.db import Ledger, now
from kpi.io.writers import safe

ROLES = ("hr", "manager", "supervisor", "agent")
MIN_PASSWORD = 8
NAME_IN_PASSWORD = 4      # a name or id this long may not be part of the password
WINDOW = 15 * 60          # seconds in which failures are counted
LOCK = 15 * 60            # how long a name stays locked
NAME_FAILURES = 5         # failures of one name within WINDOW that lock it
CLIENT_FAILURES = 20      # failures from one client address within WINDOW that lock it
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"

_HASHER = PasswordHasher()


class AccountError(KpiError, ValueError):
    """A refused account request; ``code`` is a message key, ``params`` fill it."""

    def __init__(self, code: str, **params: object):
        self.code, self.params = code, {k: str(v) for k, v in params.items()}
        super().__init__(f"{code}: {self.params}")


class User(NamedTuple):
    """An account: its name, role, the teams a supervisor leads, the agent id an agent is."""

    name: str
    role: str
    teams: tuple[str, ...]
    agent_id: str
    must_change: bool
    disabled: bool
    lang: str = ""


def _user(row) -> User:
    return User(row["name"], row["role"], tuple(json.loads(row["teams"])), row["agent_id"],
                bool(row["must_change"]), bool(row["disabled"]), row["lang"])


def generated_password(length: int = 12) -> str:
    """A random password from letters and digits that are hard to misread."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def _check_password(password: str, *names: str) -> None:
    """At least MIN_PASSWORD characters, not one character repeated, and not containing the
    account's name or agent id (of NAME_IN_PASSWORD characters or more, compared as ids are:
    agents' accounts are named by their 工号, and ``KF1001KF1001`` is the first thing tried)."""
    if len(password) < MIN_PASSWORD:
        raise AccountError("account_password_short", length=MIN_PASSWORD)
    if len(set(password)) == 1:
        raise AccountError("account_password_one_char")
    folded = identity.key(password)
    if any(len(name) >= NAME_IN_PASSWORD and identity.key(name) in folded for name in names if name):
        raise AccountError("account_password_has_name")


# ------------------------------------------------------------------ accounts
def get(ledger: Ledger, name: str) -> User | None:
    rows = ledger.rows("SELECT * FROM users WHERE name = ?", name)
    return _user(rows[0]) if rows else None


def known_as(ledger: Ledger, typed: str) -> str:
    """The account name a person typed at the login: the name itself, else the one account whose
    name is the same once folded as agent ids are (:func:`kpi.core.identity.key`: ``ＫＦ１００１`` from
    an input method in full-width mode, ``kf1001`` or ``Kf1001`` from a phone's keyboard); else
    ``typed`` folded, so that the failures of one person count together however they type it."""
    if ledger.rows("SELECT 1 FROM users WHERE name = ?", typed):
        return typed
    alike = _alike(ledger, typed)
    return alike[0] if len(alike) == 1 else identity.key(typed)


def _alike(ledger: Ledger, name: str) -> list[str]:
    """The account names that are ``name`` once folded (one at most since names are added so)."""
    wanted = identity.key(name)
    return [row["name"] for row in ledger.rows("SELECT name FROM users") if identity.key(row["name"]) == wanted]


def users(ledger: Ledger) -> list[User]:
    return [_user(row) for row in ledger.rows("SELECT * FROM users ORDER BY role, name")]


def add(ledger: Ledger, name: str, role: str, password: str, teams: Sequence[str] = (), agent_id: str = "",
        must_change: bool = False) -> User:
    """Create an account (refused if the name exists, the role is unknown or the password short).

    An agent's account is tied to their 工号 (``agent_id``, by default the name); a supervisor's to teams."""
    name = name.strip()
    if not name:
        raise AccountError("account_name_empty")
    if role not in ROLES:
        raise AccountError("account_bad_role", role=role, roles="|".join(ROLES))
    if role == "supervisor" and not teams:
        raise AccountError("account_needs_team", name=name)
    agent_id = identity.fold(agent_id or name) if role == "agent" else ""   # as the sheets' ids are kept
    _check_password(password, name, agent_id)
    teams = tuple(identity.fold(team) for team in teams)
    with ledger.write() as db:
        taken = _alike(ledger, name)   # also KF1001 when kf1001 exists: one login could not tell them apart
        if taken:
            raise AccountError("account_exists", name=taken[0])
        db.execute("INSERT INTO users (name, role, teams, agent_id, password_hash, must_change, created_at, changed_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (name, role, json.dumps(list(teams), ensure_ascii=False),
                                                       agent_id, _HASHER.hash(password), int(must_change), now(), now()))
        ledger.audit(db, "user_add", "", {"name": name, "role": role, "teams": list(teams)})
    return get(ledger, name)


def strangers(ledger: Ledger, user: User) -> list[tuple[str, dict[str, str]]]:
    """What ``user``'s account names that no month of the ledger knows, as (message key, params):
    a supervisor's team or an agent's id misspelt gives an account that sees nothing. Empty while
    the ledger holds no month (a new team or agent is then nothing to remark on)."""
    known_teams = {row["team"] for row in ledger.rows("SELECT DISTINCT team FROM results UNION "
                                                      "SELECT DISTINCT team FROM sheets")}
    if not known_teams:
        return []
    found = [("user_team_unknown", {"team": team, "known": "、".join(sorted(known_teams))})
             for team in user.teams if team not in known_teams]
    if user.agent_id and not ledger.rows("SELECT 1 FROM results WHERE agent_id = ? LIMIT 1", user.agent_id):
        found.append(("user_agent_unknown", {"agent_id": user.agent_id}))
    return found


def import_agents(ledger: Ledger, period: str, out_csv: str | Path, lang: str) -> list[str]:
    """An agent account (user name = 工号, to be changed at first login) for every agent of the
    month's counting revision who has none; their initial passwords go only into ``out_csv``,
    created readable by its owner only (0600). Returns the names created."""
    from kpi.ledger import revisions  # the month's agents

    latest = revisions.latest_revision(ledger, period)
    if latest is None:
        raise revisions.ReviewError("month_not_scored", period=period)
    stored = revisions.results_of(ledger, latest["id"], explain=False)
    created: list[tuple[str, str, str]] = []
    for agent_id, row in stored.items():
        if get(ledger, agent_id) is None:
            password = generated_password()
            add(ledger, agent_id, "agent", password, agent_id=agent_id, must_change=True)
            created.append((agent_id, row["name"], password))
    path = Path(out_csv)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    os.chmod(path, 0o600)
    with open(handle, "w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([i18n.text("col_agent_id", lang), i18n.text("col_name", lang), i18n.text("col_password", lang)])
        for agent_id, name, password in created:
            writer.writerow([safe.csv_cell(agent_id), safe.csv_cell(name), password])
    return [agent_id for agent_id, _, _ in created]


def disable(ledger: Ledger, name: str) -> None:
    """Disable an account and end its sessions."""
    with ledger.write() as db:
        _require(ledger, name)
        db.execute("UPDATE users SET disabled = 1, changed_at = ? WHERE name = ?", (now(), name))
        db.execute("DELETE FROM sessions WHERE user = ?", (name,))
        ledger.audit(db, "user_disable", "", {"name": name})


def reset(ledger: Ledger, name: str, password: str | None = None) -> str:
    """Give an account a new password (generated unless given), to be changed at next login;
    ends its sessions and its lock. Returns the new password."""
    password = password or generated_password()
    with ledger.write() as db:
        user = _require(ledger, name)
        _check_password(password, user.name, user.agent_id)
        db.execute("UPDATE users SET password_hash = ?, must_change = 1, disabled = 0, changed_at = ? WHERE name = ?",
                   (_HASHER.hash(password), now(), name))
        db.execute("DELETE FROM sessions WHERE user = ?", (name,))
        db.execute("DELETE FROM login_failures WHERE name = ?", (name,))
        ledger.audit(db, "user_reset", "", {"name": name})
    return password


def change_password(ledger: Ledger, name: str, old: str, new: str) -> None:
    """The user's own change of password (the old one must match; the new one differ)."""
    user = _require(ledger, name)
    if not _verify(ledger, name, old):
        raise AccountError("account_old_password_wrong")
    _check_password(new, user.name, user.agent_id)
    if new == old:
        raise AccountError("account_password_same")
    with ledger.write() as db:
        db.execute("UPDATE users SET password_hash = ?, must_change = 0, changed_at = ? WHERE name = ?",
                   (_HASHER.hash(new), now(), user.name))
        ledger.audit(db, "password_change", "", {"name": name})


def set_lang(ledger: Ledger, name: str, lang: str) -> None:
    if lang in i18n.LANGS:
        with ledger.write() as db:
            db.execute("UPDATE users SET lang = ? WHERE name = ?", (lang, name))


def _require(ledger: Ledger, name: str) -> User:
    found = get(ledger, name)
    if found is None:
        raise AccountError("account_unknown", name=name)
    return found


def _verify(ledger: Ledger, name: str, password: str) -> bool:
    rows = ledger.rows("SELECT password_hash FROM users WHERE name = ?", name)
    if not rows:
        _HASHER.hash(password)  # the same time spent for an unknown name
        return False
    try:
        return _HASHER.verify(rows[0]["password_hash"], password)
    except (VerificationError, InvalidHashError):
        return False


# ------------------------------------------------------------------ logging in
def locked_until(ledger: Ledger, name: str, client: str, at: float | None = None) -> float:
    """The time until which ``name`` (or ``client``) is locked, 0 when it is not."""
    at = time.time() if at is None else at
    until = 0.0
    for column, limit in (("name", NAME_FAILURES), ("client", CLIENT_FAILURES)):
        value = name if column == "name" else client
        times = [r["at"] for r in ledger.rows(f"SELECT at FROM login_failures WHERE {column} = ? AND at > ? "
                                              "ORDER BY at", value, at - WINDOW - LOCK)]
        for first, last in zip(times, times[limit - 1:]):
            if last - first <= WINDOW and last + LOCK > at:
                until = max(until, last + LOCK)
    return until


def login(ledger: Ledger, name: str, password: str, client: str, at: float | None = None) -> User:
    """The user whose name and password these are; AccountError ``login_failed`` otherwise (the
    same for an unknown name, a wrong password and a disabled account) or ``login_locked``."""
    at = time.time() if at is None else at
    name = known_as(ledger, name)
    if locked_until(ledger, name, client, at):
        with ledger.write() as db:
            ledger.audit(db, "login_locked", "", {"name": name})
        raise AccountError("login_locked", minutes=LOCK // 60)
    user = get(ledger, name)
    if user is None or user.disabled or not _verify(ledger, name, password):
        with ledger.write() as db:
            db.execute("INSERT INTO login_failures (name, client, at) VALUES (?, ?, ?)", (name, client, at))
            ledger.audit(db, "login_failed", "", {"name": name})
            db.execute("DELETE FROM login_failures WHERE at < ?", (at - 2 * (WINDOW + LOCK),))
        if locked_until(ledger, name, client, at):
            with ledger.write() as db:
                ledger.audit(db, "login_locked", "", {"name": name})
            raise AccountError("login_locked", minutes=LOCK // 60)
        raise AccountError("login_failed")
    with ledger.write() as db:
        db.execute("DELETE FROM login_failures WHERE name = ?", (name,))
        ledger.audit(db, "login", "", {"name": name})
    return user


# ------------------------------------------------------------------ sessions
def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(ledger: Ledger, name: str, client: str, at: float | None = None) -> str:
    """A new session for ``name``; returns its token (only its sha256 is stored)."""
    at = time.time() if at is None else at
    token = secrets.token_urlsafe(32)
    with ledger.write() as db:
        db.execute("INSERT INTO sessions (token_sha256, user, created, seen, client) VALUES (?, ?, ?, ?, ?)",
                   (_digest(token), name, at, at, client))
    return token


def session_user(ledger: Ledger, token: str, idle: float, absolute: float, at: float | None = None) -> User | None:
    """The user of a live session: not idle longer than ``idle`` seconds, not older than
    ``absolute``, the account not disabled. An expired session is removed."""
    if not token:
        return None
    at = time.time() if at is None else at
    digest = _digest(token)
    rows = ledger.rows("SELECT s.created, s.seen, u.* FROM sessions s JOIN users u ON u.name = s.user "
                       "WHERE s.token_sha256 = ?", digest)
    if not rows:
        return None
    row = rows[0]
    if at - row["seen"] > idle or at - row["created"] > absolute or row["disabled"]:
        with ledger.write() as db:
            db.execute("DELETE FROM sessions WHERE token_sha256 = ?", (digest,))
        return None
    if at - row["seen"] > 30:  # one write per half minute at most
        with ledger.write() as db:
            db.execute("UPDATE sessions SET seen = ? WHERE token_sha256 = ?", (at, digest))
    return _user(row)


def close_session(ledger: Ledger, token: str) -> None:
    with ledger.write() as db:
        db.execute("DELETE FROM sessions WHERE token_sha256 = ?", (_digest(token or ""),))
        db.execute("DELETE FROM sessions WHERE seen < ?", (time.time() - 86400,))
