"""What-if: the months as scored against the same inputs scored by proposed rules (pure).

Like a tax-and-benefit "reform" run on the population of the law in force, it takes
each month's stored inputs and results (what was scored, never re-computed: "now")
and scores the same agents by the proposed ruleset of that month ("proposed"), in
the proposed rules' team contexts (a personal share depends on the team's totals).
It returns records: one :class:`AgentChange` per agent and month, a
:class:`Summary` per month and for all of them. Renderers (terminal, JSON, xlsx,
a web page) only show them. Nothing here reads a file or the ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import NamedTuple

from kpi.core import explain, numbers, rules, scoring
from kpi.core.agents import AgentInput
from kpi.core.errors import KpiError

ZERO = Decimal(0)
LANGS = ("zh", "en")


class WhatifError(KpiError, ValueError):
    """The proposal cannot score a stored month; ``code`` is a message key, ``params`` fill it."""

    def __init__(self, code: str, **params: object):
        self.code, self.params = code, {k: str(v) for k, v in params.items()}
        super().__init__(f"{code}: {self.params}")


class ScoredMonth(NamedTuple):
    """A month as the ledger holds it: the counting revision, every agent's stored inputs and
    stored result document (``points``, ``total``, ``band``, ``band_label``, ``multiplier``,
    ``total_pay``, ``level_change``, ``explain``: lang → item → text). ``explained``: agent id →
    its explanations, for documents without ``explain`` (the ledger renders them from its
    records when asked, so only the agents whose items moved cost the words)."""

    period: str
    revision: int
    agents: tuple[AgentInput, ...]
    results: Mapping[str, dict]
    explained: Callable[[str], dict] | None = None


class ItemChange(NamedTuple):
    """An item whose points moved: its label, the points now and proposed (None: the item is
    not in that table) and why, in each language (the explanation records of both sides)."""

    item_id: str
    label: dict
    points_now: Decimal | None
    points_proposed: Decimal | None
    why_now: dict
    why_proposed: dict


class AgentChange(NamedTuple):
    """One agent in one month, now and proposed. Labels are dicts ``{"zh", "en"}``; the level
    recommendations are ``{"value", "zh", "en"}``."""

    period: str
    agent_id: str
    name: str
    team: str
    level: str
    total_now: Decimal
    total_proposed: Decimal
    band_now: dict
    band_proposed: dict
    multiplier_now: Decimal
    multiplier_proposed: Decimal
    pay_now: Decimal
    pay_proposed: Decimal
    level_change_now: dict
    level_change_proposed: dict
    items: tuple[ItemChange, ...]

    @property
    def difference(self) -> Decimal:
        return self.pay_proposed - self.pay_now

    @property
    def level_changed(self) -> bool:
        return self.level_change_now["value"] != self.level_change_proposed["value"]

    @property
    def changed(self) -> bool:
        """Whether anything about the agent differs (points, total, band, multiplier, pay, level)."""
        return bool(self.items or self.total_now != self.total_proposed or self.band_now != self.band_proposed
                    or self.multiplier_now != self.multiplier_proposed or self.difference or self.level_changed)


class BandCount(NamedTuple):
    """Agents in a band (by its label) now and proposed."""

    label: dict
    now: int
    proposed: int


class TeamAverage(NamedTuple):
    """A team's average total now and proposed (exact; renderers round for display)."""

    team: str
    agents: int
    now: Decimal
    proposed: Decimal


class LevelMove(NamedTuple):
    """Agents whose level recommendation goes from ``now`` to ``proposed`` ({"value", "zh", "en"})."""

    now: dict
    proposed: dict
    agents: int


class Summary(NamedTuple):
    """A month's (or all months') figures: ``periods`` covered, agents, payroll cost now and
    proposed, agents per band, average total per team, recommendations that change,
    winners / losers / unchanged (by pay) and the agents with the largest changes."""

    periods: tuple[str, ...]
    agents: int
    pay_now: Decimal
    pay_proposed: Decimal
    bands: tuple[BandCount, ...]
    teams: tuple[TeamAverage, ...]
    level_changes: int
    winners: int
    losers: int
    unchanged: int
    largest: tuple[AgentChange, ...]
    level_moves: tuple[LevelMove, ...] = ()

    @property
    def difference(self) -> Decimal:
        return self.pay_proposed - self.pay_now

    @property
    def percent(self) -> Decimal | None:
        """The change of payroll cost in percent of now (None when now is 0)."""
        return self.difference * 100 / self.pay_now if self.pay_now else None


class Comparison(NamedTuple):
    """The whole what-if: per month the revision compared and its summary, the total, every agent."""

    months: tuple[tuple[str, int, Summary], ...]
    total: Summary
    agents: tuple[AgentChange, ...]


LARGEST = 10  # agents listed as the largest changes


def compare(months: Sequence[ScoredMonth], proposed: Callable[[str], rules.Ruleset]) -> Comparison:
    """Score every stored month by ``proposed(period)`` and compare with what was scored."""
    summaries, everyone = [], []
    for month in months:
        ruleset = proposed(month.period)
        changes = compare_month(month, ruleset)
        summaries.append((month.period, month.revision, summarize((month.period,), changes, ruleset)))
        everyone.extend(changes)
    last = proposed(months[-1].period) if months else None
    total = summarize(tuple(m.period for m in months), everyone, last)
    return Comparison(tuple(summaries), total, tuple(everyone))


def compare_month(month: ScoredMonth, ruleset: rules.Ruleset) -> list[AgentChange]:
    """Every agent of ``month``: the stored result against its result by ``ruleset``."""
    agents = month.agents
    _check_inputs(month, ruleset)
    results = scoring.score_agents(ruleset, agents, scoring.contexts(ruleset, agents))
    explainers: dict[str, explain.Explainer] | None = None
    changes = []
    for agent, result in zip(agents, results):
        stored = month.results[agent.agent_id]
        moved = _moved(stored, result)
        items: tuple[ItemChange, ...] = ()
        if moved:
            explainers = explainers or {lang: explain.Explainer(ruleset, lang) for lang in LANGS}
            said = stored.get("explain") or (month.explained(agent.agent_id) if month.explained else {})
            items = _item_changes(stored, result, moved, explainers, ruleset, said)
        pay = result.pay
        changes.append(AgentChange(
            month.period, agent.agent_id, agent.name, agent.team, agent.level,
            numbers.D(stored["total"]), result.total, dict(stored["band_label"]), pay.band_label.model_dump(),
            numbers.D(stored["multiplier"]), pay.multiplier, numbers.D(stored["total_pay"]), pay.total_pay,
            dict(stored["level_change"]), pay.level_change.model_dump(), items))
    return changes


def _check_inputs(month: ScoredMonth, ruleset: rules.Ruleset) -> None:
    """Refuse rules the stored inputs cannot be scored by: an item reading a column the month
    did not have, a level missing from the proposed level table."""
    needed = [(item, (item.id,) if item.kind == "judgement" else item.measure.fields())
              for item in ruleset.weights.items]
    for agent in month.agents:
        values = agent.values
        for item, fields in needed:
            missing = next((field for field in fields if field not in values), None)
            if missing is not None:
                raise WhatifError("whatif_missing_input", period=month.period, item_zh=item.label.zh,
                                  item_en=item.label.en, field=missing)
        if ruleset.pay.level(agent.level) is None and (values.get("base_pay") is None
                                                       or values.get("performance_pay") is None):
            raise WhatifError("whatif_unknown_level", period=month.period, agent=agent.agent_id, level=agent.level)


def _moved(stored: dict, result: scoring.AgentResult) -> list[str]:
    """The ids of the items whose points differ (an item in one table only counts as moved)."""
    now = stored["points"]
    proposed = {record.item_id: record.points for record in result.items}
    ids = list(now) + [item_id for item_id in proposed if item_id not in now]
    return [item_id for item_id in ids
            if item_id not in now or item_id not in proposed or numbers.D(now[item_id]) != proposed[item_id]]


def _item_changes(stored: dict, result: scoring.AgentResult, moved: list[str],
                  explainers: dict[str, explain.Explainer], ruleset: rules.Ruleset,
                  stored_texts: dict) -> tuple[ItemChange, ...]:
    records = {record.item_id: record for record in result.items}
    texts = explain.texts(explainers, result)
    changes = []
    for item_id in moved:
        record = records.get(item_id)
        now = stored["points"].get(item_id)
        label = record.label.model_dump() if record is not None else {lang: item_id for lang in LANGS}
        changes.append(ItemChange(
            item_id, label, None if now is None else numbers.D(now), None if record is None else record.points,
            {lang: stored_texts.get(lang, {}).get(item_id, "") for lang in LANGS},
            {lang: texts[lang].get(item_id, "") for lang in LANGS}))
    return tuple(changes)


def summarize(periods: tuple[str, ...], changes: Sequence[AgentChange], ruleset: rules.Ruleset | None) -> Summary:
    """The figures of ``changes`` (one month's or all): bands in the proposed table's order,
    highest first, then any band only the stored results name."""
    pay_now = sum((c.pay_now for c in changes), ZERO)
    pay_proposed = sum((c.pay_proposed for c in changes), ZERO)
    counts: dict[str, list] = {}
    if ruleset is not None:
        for band in reversed(ruleset.pay.bands):
            counts.setdefault(band.label.zh, [band.label.model_dump(), 0, 0])
    for change in changes:
        counts.setdefault(change.band_now["zh"], [change.band_now, 0, 0])[1] += 1
        counts.setdefault(change.band_proposed["zh"], [change.band_proposed, 0, 0])[2] += 1
    teams: dict[str, list] = {}
    for change in changes:
        entry = teams.setdefault(change.team, [0, ZERO, ZERO])
        entry[0] += 1
        entry[1] += change.total_now
        entry[2] += change.total_proposed
    return Summary(
        periods, len(changes), pay_now, pay_proposed, tuple(BandCount(*entry) for entry in counts.values()),
        tuple(TeamAverage(team, n, now / n, proposed / n) for team, (n, now, proposed) in teams.items()),
        sum(1 for c in changes if c.level_changed),
        sum(1 for c in changes if c.difference > 0), sum(1 for c in changes if c.difference < 0),
        sum(1 for c in changes if not c.difference),
        tuple(sorted((c for c in changes if c.difference), key=lambda c: (-abs(c.difference), c.period, c.agent_id))[:LARGEST]),
        _level_moves(changes))


def _level_moves(changes: Sequence[AgentChange]) -> tuple[LevelMove, ...]:
    """The recommendations that change, grouped by (now, proposed), the most frequent first."""
    moves: dict[tuple[str, str], list] = {}
    for change in changes:
        if change.level_changed:
            key = (change.level_change_now["value"], change.level_change_proposed["value"])
            moves.setdefault(key, [change.level_change_now, change.level_change_proposed, 0])[2] += 1
    return tuple(sorted((LevelMove(*entry) for entry in moves.values()), key=lambda m: -m.agents))


def histogram(changes: Sequence[AgentChange], bins: int = 10) -> list[tuple[Decimal, Decimal, int]]:
    """Pay differences in ``bins`` equal ranges (low, high, agents); the last range holds its high
    end. One range around 0 when every difference is the same."""
    values = [c.difference for c in changes]
    if not values:
        return []
    low, high = min(values), max(values)
    if low == high:
        return [(low, high, len(values))]
    width = (high - low) / bins
    counts = [0] * bins
    for value in values:
        counts[min(int((value - low) / width), bins - 1)] += 1
    return [(low + width * i, low + width * (i + 1), counts[i]) for i in range(bins)]
