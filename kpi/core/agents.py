"""One agent's month as the core sees it, and the team context around it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import NamedTuple


class AgentInput(NamedTuple):
    """One agent's validated row.

    agent_id, name, team, level: identity as typed (stripped)
    values: every numeric field by id; ``None`` where an optional cell is empty
    origin: where the row came from, e.g. ``填报表!A5``
    filled: fields taken from elsewhere than the sheet → where from (``2026-08#2``:
        the ledger's revision 2 of August 2026)
    comments: the supervisor's words: ``comment`` (评语, on the month) and an item id → its
        comment, as typed; empty ones left out
    """

    agent_id: str
    name: str
    team: str
    level: str
    values: Mapping[str, Decimal | None]
    origin: str = ""
    filled: Mapping[str, str] = {}
    comments: Mapping[str, str] = {}


class TeamContext(NamedTuple):
    """What the team-relative items need: team size and team totals per field."""

    team: str
    size: int
    totals: Mapping[str, Decimal]


def teams(agents: Iterable[AgentInput], fields: Iterable[str]) -> dict[str, TeamContext]:
    """Team contexts built from the same input: size and totals of ``fields``."""
    members: dict[str, list[AgentInput]] = {}
    for agent in agents:
        members.setdefault(agent.team, []).append(agent)
    return {team: _context(team, rows, tuple(fields)) for team, rows in members.items()}


def _context(team: str, rows: list[AgentInput], fields: tuple[str, ...]) -> TeamContext:
    totals = {f: sum((row.values.get(f) or Decimal(0) for row in rows), Decimal(0)) for f in fields}
    return TeamContext(team=team, size=len(rows), totals=totals)
