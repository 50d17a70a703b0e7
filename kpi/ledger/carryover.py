"""What a month takes over from the month before in the ledger: the levels its closing gave,
and last month's sales that growth is measured against."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from kpi.core import identity, numbers
from kpi.core.agents import AgentInput
from kpi.ledger.closing import next_levels
from kpi.ledger.db import Ledger
from kpi.ledger.revisions import latest_revision, month_status, previous_period, results_of


def fill_from_ledger(ledger: Ledger, period: str, agents: Sequence[AgentInput], field: str, source: str):
    """Agents with an empty ``field`` get last month's ``source`` value from the ledger."""
    before = previous_period(period)
    revision = latest_revision(ledger, before)
    if revision is None:
        return list(agents)
    # ids are folded when read (kpi.core.identity): a month recorded before kept them as typed
    stored = {identity.fold(agent_id): row for agent_id, row in results_of(ledger, revision["id"], explain=False).items()}
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
    stored = results_of(ledger, revision["id"], explain=False)
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
