"""Scoring: pure functions from (rules, one agent's inputs, team context) to a result.

Every item yields an :class:`ItemResult`, the record every renderer shows; the
total is their sum and the pay follows from it. Nothing here rounds or reads
a file.
"""

from __future__ import annotations

import decimal
import functools
from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple

from kpi.core import measures, pay, rules, tiers
from kpi.core.agents import AgentInput, TeamContext, teams


class ItemResult(NamedTuple):
    """How one item was scored.

    item_id, group, label, weight: the item as configured (weight = standard
        points, the maximum for a qualitative item)
    inputs: (field, value) pairs used; team figures as ``team.<field>``
    measure: the exact rate or count compared with the tiers, ``None`` if none
    tier: index of the matched tier, ``None`` for judgement or no base month
    tier_label: the matched tier (or no-base rule) in plain zh/en words
    bracket: the matched tier's bounds as applied (scaled to team size)
    steps: full steps counted by the tier's step rule (0 if none)
    points: points given, after the floor and optional cap
    notes: message keys: no_base, zero_denominator, floored, capped, scaled, and
        ``filled:<field>=<source>`` for an input taken from the ledger
    """

    item_id: str
    group: str
    label: rules.Label
    weight: Decimal
    inputs: tuple[tuple[str, Decimal | None], ...]
    measure: Decimal | None
    tier: int | None
    tier_label: rules.Label | None
    bracket: tiers.Bracket | None
    steps: int
    points: Decimal
    notes: tuple[str, ...] = ()

    @property
    def lost(self) -> Decimal:
        """Points short of the weight (0 when at or above it)."""
        return max(self.weight - self.points, Decimal(0))


class AgentResult(NamedTuple):
    """One agent's month: item records, total, pay, and the rules that made them."""

    agent: AgentInput
    items: tuple[ItemResult, ...]
    total: Decimal
    pay: pay.PayResult
    rules: rules.RulesVersion


def score_item(version: rules.WeightsVersion, item: rules.Item, agent: AgentInput, team: TeamContext) -> ItemResult:
    """Score one item of one agent."""
    if item.kind == "judgement":
        value = agent.values[item.id]
        return ItemResult(item.id, item.group, item.label, item.max, ((item.id, value),),
                          None, None, None, None, 0, value)
    return _score_tiered(version, item, agent, team)


def _score_tiered(version, item: rules.TieredItem, agent: AgentInput, team: TeamContext) -> ItemResult:
    measured = measures.measure(item.measure, agent.values, team)
    notes = measured.notes
    if agent.filled:
        notes += tuple(f"filled:{field}={agent.filled[field]}" for field in item.measure.fields() if field in agent.filled)
    if measured.value is None:
        return ItemResult(item.id, item.group, item.label, item.weight, measured.inputs, None, None,
                          item.no_base.label, None, 0, item.no_base.points, notes)
    chain = item.tiers if measured.factor == 1 else _scaled_tiers(item, measured.factor)
    index = tiers.find(chain, measured.value)
    tier = item.tiers[index]
    steps = _steps(tier.step, measured.value, measured.factor)
    raw = tier.points + (tier.step.per_step * steps if tier.step else 0)
    points, limit_notes = _limit(version.min_points, item.cap, raw)
    scaled_note = ("scaled",) if measured.factor != 1 else ()
    return ItemResult(item.id, item.group, item.label, item.weight, measured.inputs, measured.value, index,
                      tier.label, chain[index], steps, points, notes + scaled_note + limit_notes)


@functools.lru_cache(maxsize=256)
def _scaled_tiers(item: rules.TieredItem, factor: Decimal) -> tuple[tiers.Bracket, ...]:
    """An item's tiers with bounds scaled by ``factor`` (one computation per team size)."""
    return tuple(tiers.scaled(t, factor) for t in item.tiers)


def _steps(step: rules.Step | None, value: Decimal, factor: Decimal) -> int:
    """Full steps (floor) between ``value`` and the step's anchor."""
    if step is None:
        return 0
    distance = abs(value - step.anchor * factor) / (step.size * factor)
    return int(distance.to_integral_value(rounding=getattr(decimal, step.rounding)))


def _limit(floor: Decimal, cap: Decimal | None, points: Decimal) -> tuple[Decimal, tuple[str, ...]]:
    """Apply the floor (no item below it) and the item's optional cap."""
    if points < floor:
        return floor, ("floored",)
    if cap is not None and points > cap:
        return cap, ("capped",)
    return points, ()


def points_at(version: rules.WeightsVersion, item: rules.TieredItem, value: Decimal) -> Decimal:
    """The points ``item`` gives for a measured ``value`` (no team scaling), after the floor
    and its cap: what ``kpi rules`` quotes to show where an uncapped bonus goes."""
    tier = item.tiers[tiers.find(item.tiers, value)]
    raw = tier.points + (tier.step.per_step * _steps(tier.step, value, Decimal(1)) if tier.step else 0)
    return _limit(version.min_points, item.cap, raw)[0]


def uncapped(item: rules.Item) -> bool:
    """Whether an item's points have no upper end: a step rule on an open-ended top tier, no cap."""
    if item.kind != "tiered" or item.cap is not None:
        return False
    top = item.tiers[-1]
    return top.max is None and top.step is not None and top.step.per_step > 0


def implausible(ruleset: rules.Ruleset, results: Sequence[AgentResult]) -> list[AgentResult]:
    """The results whose total is above the weights' ``plausible_total`` (none when unset)."""
    bound = ruleset.weights.plausible_total
    return [] if bound is None else [r for r in results if r.total > bound]


def score_agent(ruleset: rules.Ruleset, agent: AgentInput, team: TeamContext) -> AgentResult:
    """Score every item of one agent, add them up and compute pay."""
    items = tuple(score_item(ruleset.weights, item, agent, team) for item in ruleset.weights.items)
    total = sum((item.points for item in items), Decimal(0))
    values = agent.values
    result = pay.compute(ruleset.pay, total, agent.level, values.get("base_pay"), values.get("performance_pay"))
    return AgentResult(agent, items, total, result, ruleset.version)


def team_fields(ruleset: rules.Ruleset) -> tuple[str, ...]:
    """Fields whose team totals some item needs."""
    return tuple(item.measure.value for item in ruleset.weights.items
                 if item.kind == "tiered" and item.measure.kind == "team_share")


def contexts(ruleset: rules.Ruleset, agents: Sequence[AgentInput]) -> dict[str, TeamContext]:
    """Team name → the context its agents are scored in (size, totals the rules need)."""
    return teams(agents, team_fields(ruleset))


def score_agents(ruleset: rules.Ruleset, agents: Sequence[AgentInput],
                 team_contexts: dict[str, TeamContext]) -> tuple[AgentResult, ...]:
    """Score ``agents`` (some or all of a month) in the month's ``team_contexts``."""
    return tuple(score_agent(ruleset, agent, team_contexts[agent.team]) for agent in agents)


def score_month(ruleset: rules.Ruleset, agents: Sequence[AgentInput]) -> tuple[AgentResult, ...]:
    """Score every agent of a month; team context comes from the same input."""
    return score_agents(ruleset, agents, contexts(ruleset, agents))
