"""Results too large to be believed: refused as input problems, never paid or charted.

Each input field has a sanity maximum (``max`` in ``config/fields.toml``), but a
result can still run away: sales growth gives "+1 per full 5%" without end, so
last month's sales typed as 0.01 would give millions of points. An item's
``max_points`` (``config/weights.toml``) says how many points are believable;
an agent whose item would score more is listed here with the inputs that made it,
before anything is scored or written.
"""

from __future__ import annotations

from collections.abc import Sequence

from kpi.core import numbers, rules, scoring
from kpi.core.agents import AgentInput
from kpi.core.errors import InputProblem


def implausible(ruleset: rules.Ruleset, agents: Sequence[AgentInput],
                checked_ids: set[str] | None = None) -> list[InputProblem]:
    """A problem for every agent of ``agents`` (those of ``checked_ids`` when given) and item
    whose points would exceed the item's ``max_points``."""
    checked = [item for item in ruleset.weights.items if getattr(item, "max_points", None) is not None
               and all(ruleset.field(f) is not None for f in item.measure.fields())]
    if not checked or not agents:
        return []
    teams = scoring.contexts(ruleset, agents)
    found = []
    for agent in agents:
        if checked_ids is not None and agent.agent_id not in checked_ids:
            continue
        for item in checked:
            result = scoring.score_item(ruleset.weights, item, agent, teams[agent.team])
            if result.points > item.max_points:
                found.append(_problem(item, agent, result))
    return found


def _problem(item: rules.TieredItem, agent: AgentInput, result: scoring.ItemResult) -> InputProblem:
    """The problem names the measure's last input (the base of a growth, a ratio's denominator):
    the one whose typo makes a result run away."""
    field, value = result.inputs[-1]
    where = agent.filled.get(field) or agent.origin
    return InputProblem(agent.agent_id, field, where, "" if value is None else numbers.plain(value),
                        "implausible_points",
                        (("item", item.id), ("points", numbers.short(result.points)),
                         ("max", numbers.plain(item.max_points)), ("measure", item.id),
                         ("value", numbers.percent(result.measure) if result.measure is not None else "")))

