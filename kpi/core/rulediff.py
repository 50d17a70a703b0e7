"""What a proposed ruleset changes against the rules in force, in the table's own words.

Both rulesets are laid flat into entries (item weights, tiers, bands, multipliers,
labels, rounding, levels), each keyed the same way in both, and the entries that
differ become :class:`Difference` records; a renderer writes them in either language.
"""

from __future__ import annotations

from typing import NamedTuple

from kpi.core import numbers, rules
from kpi.core.explain import RATE_KINDS

Value = str | rules.Label | None


class Difference(NamedTuple):
    """One entry that differs: ``subject`` (an item's or band's label, or a message key),
    ``aspect`` (a message key) with ``params``, the value ``before`` and ``after`` (None: absent)."""

    subject: rules.Label | str
    aspect: str
    params: dict
    before: Value
    after: Value


def differences(now: rules.Ruleset, proposed: rules.Ruleset) -> list[Difference]:
    """Every entry of the table that ``proposed`` changes, in the order of the table."""
    before, after = entries(now), entries(proposed)
    found = []
    for key in list(before) + [k for k in after if k not in before]:
        old, new = before.get(key), after.get(key)
        value_old, value_new = (old[3] if old else None), (new[3] if new else None)
        if value_old != value_new:
            subject, aspect, params = (old or new)[:3]
            found.append(Difference(subject, aspect, params, value_old, value_new))
    return found


def entries(ruleset: rules.Ruleset) -> dict[tuple, tuple]:
    """key → (subject, aspect, params, value): the table laid flat."""
    flat: dict[tuple, tuple] = {}
    weights, pay = ruleset.weights, ruleset.pay
    flat[("title",)] = ("diff_table", "diff_title", {}, weights.title)
    flat[("total",)] = ("diff_table", "diff_total", {}, numbers.plain(weights.total))
    flat[("min_points",)] = ("diff_table", "diff_min_points", {}, numbers.plain(weights.min_points))
    for item in weights.items:
        _item(flat, item)
    for index, band in enumerate(pay.bands):
        key, subject = ("band", index), band.label
        flat[key + ("range",)] = (subject, "diff_band_range", {}, band.describe(numbers.plain))
        flat[key + ("label",)] = (subject, "diff_label", {}, band.label)
        flat[key + ("multiplier",)] = (subject, "diff_multiplier", {}, numbers.plain(band.multiplier))
        flat[key + ("level_change",)] = (subject, "diff_level_change", {},
                                          rules.Label(zh=band.level_change.zh, en=band.level_change.en))
    flat[("rounding",)] = ("diff_pay_table", "diff_rounding", {},
                           f"{numbers.plain(pay.rounding.quantum)} {pay.rounding.mode}")
    for level in pay.levels:
        key, subject = ("level", level.id), rules.Label(zh=f"{level.id} {level.label.zh}", en=f"{level.id} {level.label.en}")
        flat[key + ("base",)] = (subject, "diff_base_pay", {}, numbers.grouped(level.base_pay))
        flat[key + ("performance",)] = (subject, "diff_performance_pay", {}, numbers.grouped(level.performance_pay))
    return flat


def _item(flat: dict, item: rules.Item) -> None:
    key, subject = ("item", item.id), item.label
    flat[key + ("label",)] = (subject, "diff_label", {}, item.label)
    flat[key + ("weight",)] = (subject, "diff_weight", {}, numbers.plain(item.weight))
    if item.kind == "judgement":
        flat[key + ("increment",)] = (subject, "diff_increment", {}, numbers.plain(item.increment))
        return
    show = numbers.percent if item.measure.kind in RATE_KINDS else numbers.plain
    for index, tier in enumerate(item.tiers, start=1):
        params = {"n": index}
        flat[key + ("tier", index, "range")] = (subject, "diff_tier_range", params, tier.describe(show))
        flat[key + ("tier", index, "points")] = (subject, "diff_tier_points", params, _points(tier))
        flat[key + ("tier", index, "label")] = (subject, "diff_tier_label", params, tier.label)
    if item.no_base is not None:
        flat[key + ("no_base",)] = (subject, "diff_no_base", {}, numbers.plain(item.no_base.points))
    if item.cap is not None:
        flat[key + ("cap",)] = (subject, "diff_cap", {}, numbers.plain(item.cap))


def _points(tier: rules.Tier) -> str:
    """``30`` or ``30, -1 per 5%`` (the step written with its size as in the table)."""
    text = numbers.plain(tier.points)
    if tier.step is not None:
        step = numbers.plain(tier.step.per_step)
        text += f" {step if step.startswith('-') else '+' + step} / {numbers.plain(tier.step.size)}"
    return text
