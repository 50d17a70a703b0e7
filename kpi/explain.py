"""Plain-words explanation of an item record, in zh or en.

Scorecards, results.json, the ledger and the terminal all use an
:class:`Explainer`; it only formats what :mod:`kpi.scoring` recorded and never
recomputes a rate or a tier. A month has many agents whose records share most
words (labels, the wording of a tier, the points line), so an explainer renders
each such piece once and remembers it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from kpi import i18n, numbers, rules
from kpi.scoring import AgentResult, ItemResult

RATE_KINDS = ("ratio", "growth", "team_share")


class Explainer:
    """Explanations by one ruleset in one language."""

    def __init__(self, ruleset: rules.Ruleset, lang: str):
        self.ruleset, self.lang = ruleset, lang
        self._labels: dict[str, str] = {}
        self._money: dict[str, bool] = {}
        self._rules: dict[tuple, str] = {}
        self._points: dict[tuple, str] = {}

    def item(self, record: ItemResult) -> str:
        """One line: formula; rule applied → points."""
        if record.group == "qualitative":
            return self.points(record)
        text = self.lang_text("explain_sep") + i18n.text("explain_tier", self.lang, tier=self.rule(record))
        return self.formula(record) + text + self.lang_text("explain_arrow") + self.points(record)

    def value(self, field_id: str, amount: Decimal | None) -> str:
        """A field's value as people read it: money grouped, counts whole."""
        if amount is None:
            return "—"
        if field_id not in self._money:
            f = self.ruleset.field(field_id)
            self._money[field_id] = f is not None and f.type == "money"
        return numbers.grouped(amount) if self._money[field_id] else numbers.plain(amount)

    def measured(self, record: ItemResult) -> str:
        """The measured value alone: a percentage for rates, the number otherwise."""
        if record.measure is None:
            return "—"
        item = self.ruleset.weights.item(record.item_id)
        return numbers.percent(record.measure) if item.measure.kind in RATE_KINDS else numbers.plain(record.measure)

    def inputs(self, record: ItemResult) -> str:
        """The inputs of a record as ``label value`` pairs, team figures included."""
        return ", ".join(f"{self.label(name)} {self.value(name.removeprefix('team.'), amount)}"
                         for name, amount in record.inputs)

    def label(self, name: str) -> str:
        """The words for an input: a field's label, the standard, a team figure."""
        if name not in self._labels:
            self._labels[name] = self._label(name)
        return self._labels[name]

    def _label(self, name: str) -> str:
        if name == "standard":
            return self.lang_text("input_standard")
        if name == "team.size":
            return self.lang_text("input_team_size")
        if name.startswith("team."):
            return i18n.text("input_team_total", self.lang, label=self.label(name[5:]))
        f = self.ruleset.field(name)
        return f.label(self.lang) if f is not None else name

    def formula(self, record: ItemResult) -> str:
        """How the measured value was computed, with the agent's figures."""
        item = self.ruleset.weights.item(record.item_id)
        if item.kind == "judgement":
            return ""
        spec, pairs = item.measure, dict(record.inputs)
        params = {"measure": item.measure_label(self.lang), "rate": self.measured(record)}
        if record.measure is None and "no_base" in record.notes:
            return i18n.text("explain_no_base", self.lang, **params)
        num_id = spec.numerator if spec.kind == "ratio" else spec.value
        den_id = _denominator(spec)
        params.update(num_label=self.label(num_id), num=self.value(num_id, pairs[num_id]),
                      den_label=self.label(den_id),
                      den=self.value(num_id if spec.kind == "team_share" else den_id, pairs.get(den_id)),
                      size=numbers.plain(pairs.get("team.size", Decimal(0))))
        key = "explain_standard" if spec.kind == "ratio" and spec.standard is not None else f"explain_{spec.kind}"
        return i18n.text(key, self.lang, **params)

    def rule(self, record: ItemResult) -> str:
        """The tier that matched, in plain words, with steps, scaling and notes."""
        if record.tier_label is None:
            return ""
        scaled = record.bracket if "scaled" in record.notes else None
        key = (record.item_id, record.tier, record.steps, scaled, record.notes,
               record.measure if "zero_denominator" in record.notes else None)
        if key not in self._rules:
            self._rules[key] = self._rule(record, scaled)
        return self._rules[key]

    def _rule(self, record: ItemResult, scaled) -> str:
        text = record.tier_label(self.lang)
        if record.steps:
            text += i18n.text("explain_steps", self.lang, steps=record.steps)
        if scaled is not None:
            text += i18n.text("explain_scaled", self.lang, bracket=scaled.describe(numbers.percent, "s"))
        for note in record.notes:
            text += self._note(record, note)
        return text

    def _note(self, record: ItemResult, note: str) -> str:
        if note.startswith("filled:"):
            field, source = note[len("filled:"):].split("=", 1)
            period, revision = source.split("#")
            return self.lang_text("explain_sep") + i18n.text(
                "note_filled", self.lang, field=self.label(field), period=period, revision=revision)
        if note == "zero_denominator":
            return self.lang_text("explain_sep") + i18n.text("note_zero_denominator", self.lang,
                                                             value=self.measured(record))
        if note in ("floored", "capped"):
            return self.lang_text("explain_sep") + self.lang_text(f"note_{note}")
        return ""

    def points(self, record: ItemResult) -> str:
        """``得 28 分(标准 30 分)``."""
        key = (record.group, record.points, record.weight)
        if key not in self._points:
            message = "explain_judgement" if record.group == "qualitative" else "explain_points"
            self._points[key] = i18n.text(message, self.lang, points=numbers.plain(record.points),
                                          weight=numbers.plain(record.weight))
        return self._points[key]

    def lang_text(self, key: str) -> str:
        return i18n.text(key, self.lang)


def _denominator(spec) -> str:
    if spec.kind == "ratio":
        return spec.denominator or "standard"
    if spec.kind == "growth":
        return spec.base
    return f"team.{spec.value}" if spec.kind == "team_share" else spec.value


def item(ruleset: rules.Ruleset, record: ItemResult, lang: str) -> str:
    """One record's line (for a single record; many go through one :class:`Explainer`)."""
    return Explainer(ruleset, lang).item(record)


def texts(explainers: dict[str, Explainer], results: Sequence[AgentResult]) -> dict[str, list[dict[str, str]]]:
    """Every agent's explanations (item → line) in each explainer's language."""
    return {lang: [{record.item_id: explainer.item(record) for record in result.items} for result in results]
            for lang, explainer in explainers.items()}
