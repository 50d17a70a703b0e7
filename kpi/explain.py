"""Plain-words explanation of an item record, in zh or en.

Scorecards, results.json and the terminal all call :func:`item`; it only
formats what :mod:`kpi.scoring` recorded and never recomputes a rate or a tier.
"""

from __future__ import annotations

from decimal import Decimal

from kpi import i18n, numbers, rules
from kpi.scoring import ItemResult

RATE_KINDS = ("ratio", "growth", "team_share")


def value(ruleset: rules.Ruleset, field_id: str, amount: Decimal | None) -> str:
    """A field's value as people read it: money grouped, counts whole."""
    if amount is None:
        return "—"
    f = ruleset.field(field_id)
    if f is not None and f.type == "money":
        return numbers.grouped(amount)
    return numbers.plain(amount)


def measured(ruleset: rules.Ruleset, record: ItemResult) -> str:
    """The measured value alone: a percentage for rates, the number otherwise."""
    if record.measure is None:
        return "—"
    item = ruleset.weights.item(record.item_id)
    return numbers.percent(record.measure) if item.measure.kind in RATE_KINDS else numbers.plain(record.measure)


def inputs(ruleset: rules.Ruleset, record: ItemResult, lang: str) -> str:
    """The inputs of a record as ``label value`` pairs, team figures included."""
    return ", ".join(f"{_input_label(ruleset, name, lang)} {_input_value(ruleset, name, amount)}"
                     for name, amount in record.inputs)


def _input_label(ruleset: rules.Ruleset, name: str, lang: str) -> str:
    if name == "standard":
        return i18n.text("input_standard", lang)
    if name == "team.size":
        return i18n.text("input_team_size", lang)
    if name.startswith("team."):
        return i18n.text("input_team_total", lang, label=_field_label(ruleset, name[5:], lang))
    return _field_label(ruleset, name, lang)


def _input_value(ruleset: rules.Ruleset, name: str, amount: Decimal | None) -> str:
    return value(ruleset, name[5:] if name.startswith("team.") else name, amount)


def formula(ruleset: rules.Ruleset, record: ItemResult, lang: str) -> str:
    """How the measured value was computed, with the agent's figures."""
    item = ruleset.weights.item(record.item_id)
    if item.kind == "judgement":
        return ""
    spec, pairs = item.measure, dict(record.inputs)
    params = {"measure": item.measure_label(lang), "rate": measured(ruleset, record)}
    if record.measure is None and "no_base" in record.notes:
        return i18n.text("explain_no_base", lang, **params)
    num_id = spec.numerator if spec.kind == "ratio" else spec.value
    den_id = _denominator(spec)
    params.update(num_label=_field_label(ruleset, num_id, lang), num=value(ruleset, num_id, pairs[num_id]),
                  den_label=_input_label(ruleset, den_id, lang),
                  den=value(ruleset, num_id if spec.kind == "team_share" else den_id, pairs.get(den_id)),
                  size=numbers.plain(pairs.get("team.size", Decimal(0))))
    key = "explain_standard" if spec.kind == "ratio" and spec.standard is not None else f"explain_{spec.kind}"
    return i18n.text(key, lang, **params)


def _denominator(spec) -> str:
    if spec.kind == "ratio":
        return spec.denominator or "standard"
    if spec.kind == "growth":
        return spec.base
    return f"team.{spec.value}" if spec.kind == "team_share" else spec.value


def rule(ruleset: rules.Ruleset, record: ItemResult, lang: str) -> str:
    """The tier that matched, in plain words, with steps, scaling and notes."""
    if record.tier_label is None:
        return ""
    text = record.tier_label(lang)
    if record.steps:
        text += i18n.text("explain_steps", lang, steps=record.steps)
    if "scaled" in record.notes and record.bracket is not None:
        shown = record.bracket.describe(numbers.percent, "s")
        text += i18n.text("explain_scaled", lang, bracket=shown)
    for note in record.notes:
        if note.startswith("filled:"):
            field, source = note[len("filled:"):].split("=", 1)
            period, revision = source.split("#")
            text += i18n.text("explain_sep", lang) + i18n.text(
                "note_filled", lang, field=_field_label(ruleset, field, lang), period=period, revision=revision)
        elif note == "zero_denominator":
            text += i18n.text("explain_sep", lang) + i18n.text("note_zero_denominator", lang, value=measured(ruleset, record))
        elif note in ("floored", "capped"):
            text += i18n.text("explain_sep", lang) + i18n.text(f"note_{note}", lang)
    return text


def points(record: ItemResult, lang: str) -> str:
    """``得 28 分(标准 30 分)``."""
    key = "explain_judgement" if record.group == "qualitative" else "explain_points"
    return i18n.text(key, lang, points=numbers.plain(record.points), weight=numbers.plain(record.weight))


def item(ruleset: rules.Ruleset, record: ItemResult, lang: str) -> str:
    """One line: formula; rule applied → points."""
    if record.group == "qualitative":
        return points(record, lang)
    text = formula(ruleset, record, lang)
    text += i18n.text("explain_sep", lang) + i18n.text("explain_tier", lang, tier=rule(ruleset, record, lang))
    return text + i18n.text("explain_arrow", lang) + points(record, lang)


def _field_label(ruleset: rules.Ruleset, field_id: str, lang: str) -> str:
    f = ruleset.field(field_id)
    return f.label(lang) if f is not None else field_id


def texts(ruleset: rules.Ruleset, results, langs) -> dict[str, list[dict[str, str]]]:
    """Every agent's explanations, per language, computed once for every renderer."""
    return {lang: [{record.item_id: item(ruleset, record, lang) for record in result.items} for result in results]
            for lang in langs}
