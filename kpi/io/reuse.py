"""Reuse in one place: every content key and every "take it from last time" decision (an edge).

A re-score of a month takes from its last revision whatever would come out byte for byte
the same: an agent's whole row (nothing scored), a scorecard, a results.json line, a
ledger row, a payroll file, a team summary sheet. Each is recognised by a content key:
a hash of named parts, made by the one function :func:`key`, which always adds the
kind's format tag (bumped when kpi changes how it draws that kind of file), kpi's
version and the versions of the libraries that write it. Each kind's parts are
documented in :data:`KINDS`; :func:`key` refuses a call that gives other parts, so a
part cannot be left out of one caller silently, and ``tests/test_reuse.py`` varies
every part and sees the key change.

What is not here, on purpose: :func:`kpi.core.table.seal` (a payroll row's digest, a
part of the payroll and summary keys, pure), the ledger's hash chain, the scorecard
seals (HMACs that prove a returned card) and the input file's sha256 (what the ledger
says was read): they identify or prove, they decide no reuse.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import importlib.metadata
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import kpi
from kpi.core import calendar, numbers, rules, table
from kpi.core.agents import AgentInput, TeamContext
from kpi.core.scoring import AgentResult


class Kind(NamedTuple):
    """A kind of kept file: its format tag, the libraries whose version is in its key, its named parts."""

    format: str
    writers: tuple[str, ...]
    parts: frozenset[str]


KINDS: dict[str, Kind] = {
    # one agent's scorecard (kpi/io/writers/scorecard.py, encrypted by msoffcrypto-tool); a kept
    # card also gives its results.json line and ledger row back (they follow from the same parts)
    "scorecard": Kind("sealed-1", ("xlsxwriter", "msoffcrypto-tool", "orjson"),
                      frozenset(("agent", "items", "total", "pay", "comments", "rules", "lang", "deadline", "password",
                                 "seal"))),
    # one agent's whole row, taken back before scoring: result, ledger row, payroll row,
    # results.json line and scorecard (the row as typed, its team and what the run draws with)
    "agent": Kind("row-1", ("xlsxwriter", "msoffcrypto-tool", "orjson"),
                  frozenset(("period", "agent", "values", "filled", "comments", "team", "rules", "lang", "deadline",
                             "scorecards", "password", "seal"))),
    # payroll-YYYY-MM.xlsx and .csv (kpi/io/writers/payroll.py): layout 2 has the signature
    # block and marks estimated dates (issue 22); the csv is written by Python's csv module
    "payroll_xlsx": Kind("payroll-2", ("xlsxwriter",), frozenset(("name", "rules", "lang", "dates", "rows"))),
    "payroll_csv": Kind("payroll-2", (), frozenset(("name", "rules", "lang", "dates", "rows"))),
    # one team's sheet of team-summary-YYYY-MM.xlsx (kpi/io/writers/team_summary.py)
    "summary_sheet": Kind("sheet-1", ("xlsxwriter",),
                          frozenset(("index", "name", "team", "rules", "period", "lang", "rows"))),
}

# A results.json line has no key of its own: it is taken over only with its agent's scorecard
# (a kept card) or its whole row (a carried agent); both keys cover what the line shows, and
# orjson, which writes it, is among their writers.


@functools.cache
def version(library: str) -> str:
    """The installed version of ``library`` (a distribution name), "" if it is not installed."""
    try:
        return importlib.metadata.version(library)
    except importlib.metadata.PackageNotFoundError:
        return ""


def key(kind: str, **parts) -> str:
    """The content key of a file of ``kind`` made from ``parts`` (exactly :data:`KINDS`' parts
    of that kind): a sha256 of them by name, with the kind's format tag, kpi's version and
    its writers' versions."""
    known = KINDS[kind]
    if parts.keys() != known.parts:
        raise ValueError(f"{kind} key: parts {sorted(parts)} are not {sorted(known.parts)}")
    content = _head(kind, known, kpi.__version__, version) + repr(sorted(parts.items()))
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=64)
def _head(kind: str, known: Kind, kpi_version: str, versions) -> str:
    """What every key of ``kind`` starts with: kind, format tag, kpi's and its writers' versions
    (made once per run: a key is made for every agent)."""
    return repr((kind, known.format, kpi_version, tuple((name, versions(name)) for name in known.writers)))


def seal_id(secret: bytes | None) -> str:
    """Which secret seals the cards (a card is sealed when a ledger holds the month), without
    the secret: an HMAC of a fixed text under it; "" for unsealed cards."""
    return hmac.new(secret, b"kpi content key", hashlib.sha256).hexdigest()[:16] if secret else ""


def _dated(line: calendar.Timeline, step: str) -> tuple[str, bool]:
    """A step's date as a file prints it: the day, and whether it is marked 预估."""
    day = line.date(step)
    return str(day), line.estimated(day)


def _comments(agent) -> tuple:
    return tuple(sorted(agent.comments.items())) if agent.comments else ()


class Run(NamedTuple):
    """What besides its row and team every agent's files follow from in one run."""

    period: str
    rules: str          # the rules' sha256
    lang: str
    deadline: tuple     # (day, estimated): the confirmation deadline the card prints
    scorecards: bool
    seal: str           # :func:`seal_id`


def run(ruleset: rules.Ruleset, line: calendar.Timeline, lang: str, scorecards: bool,
        secret: bytes | None = None) -> Run:
    """The run's settings for :func:`agent_key` and :func:`card_key` (made once: the
    deadline's estimate and the seal's id cost more than a key)."""
    return Run(ruleset.period, ruleset.version.sha256, lang, _dated(line, "confirm_deadline"), scorecards,
               seal_id(secret))


def card_key(result: AgentResult, settings: Run, password: str | None = None) -> str:
    """The key of ``result``'s scorecard: everything it shows (the agent, each item's record, the
    total and pay, the supervisor's comments; the rules, language and confirmation deadline of
    the run's ``settings``), its password, the secret that seals it (``settings.seal``)."""
    agent, pay = result.agent, result.pay
    return key("scorecard", agent=(agent.agent_id, agent.name, agent.team, agent.level),
               items=[(i.item_id, i.inputs, i.measure, i.tier, i.steps, i.points, i.notes) for i in result.items],
               total=result.total,
               pay=(pay.band, pay.base_pay, pay.performance_pay, pay.source, pay.total_pay),  # the band's
               # multiplier and level recommendation follow from the band and the rules
               comments=_comments(agent), rules=settings.rules, lang=settings.lang, deadline=settings.deadline,
               password=password, seal=settings.seal)


def agent_key(agent: AgentInput, team: TeamContext, settings: Run, password: str | None = None) -> str:
    """The key of everything an agent's result and its files follow from: the agent's row
    (values as typed: 5 and 5.0 stay apart; where each was taken from), its team's context,
    the run's ``settings`` and its scorecard ``password``. A re-score that finds the key of the
    last revision takes that revision's row instead of scoring."""
    return key("agent", period=settings.period, rules=settings.rules, lang=settings.lang, deadline=settings.deadline,
               scorecards=settings.scorecards, seal=settings.seal, password=password,
               agent=(agent.agent_id, agent.name, agent.team, agent.level), values=tuple(agent.values.items()),
               filled=tuple(agent.filled.items()), comments=_comments(agent),
               team=(team.size, tuple(team.totals.items())))


def payroll_keys(names: Sequence[str], rows: Sequence[table.Row], ruleset: rules.Ruleset,
                 line: calendar.Timeline, lang: str, seals: Mapping[str, bytes] | None = None) -> dict[str, str]:
    """A key per payroll file (``names``): its name and rows, the rules, the language and the
    review dates it prints. The rows are hashed once for all the files, by their ``seals``
    where given (:func:`kpi.core.table.digest`)."""
    dates = (_dated(line, "summary"), _dated(line, "hr_finance"))
    rows_digest = (len(rows), table.digest(rows, seals))
    return {name: key("payroll_csv" if name.endswith(".csv") else "payroll_xlsx", name=name, rules=ruleset.version.sha256, lang=lang, dates=dates, rows=rows_digest)
            for name in names}


def summary_sheet_key(index: int, name: str, team: str, members: Sequence[table.Row], ruleset: rules.Ruleset,
                      lang: str, seals: Mapping[str, bytes] | None = None) -> str:
    """The key of a team's sheet of the summary: its place and name, its rows, the rules, the language."""
    return key("summary_sheet", index=index, name=name, team=team, rules=ruleset.version.sha256,
               period=ruleset.period, lang=lang, rows=table.digest(members, seals))


def fingerprint(result: AgentResult) -> str:
    """A hash of what the agent confirms: item points, total, band, pay, recommendation.

    Not a content key: it says whether a result changed (then the agent's answer is cleared)
    and it is sealed into the card, so it must not follow kpi's version: a new kpi must not
    clear every answer. Its value is pinned by a test."""
    core = {"points": {i.item_id: numbers.plain(i.points) for i in result.items}, "total": numbers.plain(result.total),
            "band": result.pay.band, "pay": numbers.money(result.pay.total_pay),
            "base": numbers.money(result.pay.base_pay), "performance": numbers.money(result.pay.performance_pay),
            "level_change": result.pay.level_change.value, "level": result.agent.level}
    return hashlib.sha256(_SORTED.encode(core).encode()).hexdigest()


_SORTED = json.JSONEncoder(sort_keys=True)  # what json.dumps(..., sort_keys=True) makes anew on every call


# ---- the decisions: take it from last time?

def file_stat(path: Path | str) -> str:
    """Size and modification time of a file, to recognise it later."""
    info = os.stat(path)
    return f"{info.st_size}:{info.st_mtime_ns}"


def unchanged(path: str | Path, stat: str) -> bool:
    """Whether ``path`` is still the file whose stat was ``stat`` (one system call)."""
    try:
        return file_stat(path) == stat
    except OSError:
        return False


def same_file(earlier: Sequence | None, new_key: str, path: str | Path) -> bool:
    """Whether the file at ``path``, written last time with ``earlier`` (its key and stat), can
    be taken whole: same key, and the file is still the one written then."""
    return bool(earlier) and earlier[0] == new_key and unchanged(path, earlier[1])


def same_sheets(earlier: Sequence[str], keys: Sequence[str]) -> list[int]:
    """The indexes of the sheets whose key is the one the earlier file's sheet at that place had."""
    return [index for index, new in enumerate(keys) if index < len(earlier) and earlier[index] == new]


def same_summary(path: Path, before: dict) -> bool:
    """Whether the last revision's team summary (``before``: its stat and sheet keys, as the
    ledger keeps them) is still the file written then: its sheets may be taken."""
    return bool(before) and unchanged(path, before["stat"])


def lines_usable(head: dict | None, period: str, lang: str, revision: int | None) -> bool:
    """Whether an earlier results.json (its ``head``) is the last revision's of the same month
    in the same language: its lines may be taken over."""
    expected = {"period": period, "lang": lang, "revision": (revision or 0) - 1}
    return head is not None and all(head.get(name) == value for name, value in expected.items())


def carried(before: tuple[str, str] | None, new_key: str, has_line: bool, card_intact: bool) -> bool:
    """Whether an agent's whole row is taken back: the last revision stored the same agent key
    (``before``: its key and payroll row), its results.json line is there and its scorecard is
    still the file written then."""
    return before is not None and before[0] == new_key and has_line and card_intact


def row_copied(card_kept: bool, previous_revision: int | None) -> bool:
    """Whether a scored agent's ledger row (figures, explanations, card columns) is copied from
    the last revision: its scorecard was kept there (the card key covers everything the row
    stores, the fingerprint included)."""
    return card_kept and previous_revision is not None
