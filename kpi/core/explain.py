"""Plain-words explanation of an item record, in zh or en.

Scorecards, results.json, the ledger and the terminal all use an
:class:`Explainer`; it only formats what :mod:`kpi.core.scoring` recorded and never
recomputes a rate or a tier. A month has many agents whose records share most
words (labels, the wording of a tier, the points line), so an explainer renders
each such piece once and remembers it: an item's formula with its words in place
and its figures blank, and the rule-and-points tail per tier and points. Only
the agent's own figures are written per line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import NamedTuple

from kpi.core import i18n, numbers, rules
from kpi.core.scoring import AgentResult, ItemResult

RATE_KINDS = ("ratio", "growth", "team_share")


class Explainer:
    """Explanations by one ruleset in one language."""

    def __init__(self, ruleset: rules.Ruleset, lang: str):
        self.ruleset, self.lang = ruleset, lang
        self._labels: dict[str, str] = {}
        self._shows: dict[str, Callable[[Decimal], str]] = {}
        self._rules: dict[tuple, str] = {}
        self._points: dict[tuple, str] = {}
        self._tails: dict[tuple, str] = {}
        self._formulas: dict[str, _Formula | None] = {}
        # what the explainer's users derive from records once per distinct record (a scorecard's
        # item rows): kept as long as the explainer, which a month makes per chunk of agents
        self.rendered: dict[tuple, object] = {}

    def item(self, record: ItemResult) -> str:
        """One line: formula; rule applied → points."""
        if record.group == "qualitative":
            return self.points(record)
        return self.formula(record) + self._tail(record, _tail_key(record))

    def _tail(self, record: ItemResult, key: tuple) -> str:
        """``; rule: … → points``: the same words for every agent in the same tier with the same
        points (``key``: :func:`_tail_key`)."""
        text = self._tails.get(key)
        if text is None:
            text = self._tails[key] = (self.lang_text("explain_sep")
                                       + i18n.text("explain_tier", self.lang, tier=self.rule(record))
                                       + self.lang_text("explain_arrow") + self.points(record))
        return text

    def value(self, field_id: str, amount: Decimal | None) -> str:
        """A field's value as people read it: money grouped, counts whole."""
        return "—" if amount is None else self._shown(field_id)(amount)

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
        return self.written(record, self.figures(record))

    def figures(self, record: ItemResult) -> dict[str, str] | None:
        """The agent's figures in the item's formula, as text: the same in every language.
        None for a judgement item; :data:`NO_BASE` for a growth without base month."""
        plan = self._formula(record.item_id)
        if plan is None:
            return None
        if record.measure is None and "no_base" in record.notes:
            return NO_BASE
        pairs = dict(record.inputs)
        num, den = pairs[plan.num_id], pairs.get(plan.den_id)
        return {"rate": "—" if record.measure is None else plan.rate(record.measure),
                "num": "—" if num is None else plan.num_value(num),
                "den": "—" if den is None else plan.den_value(den),
                "size": numbers.plain(pairs.get("team.size", numbers.ZERO))}

    def written(self, record: ItemResult, figures: dict[str, str] | None) -> str:
        """The item's formula in this language with ``figures`` (:meth:`figures`) in place."""
        if figures is None:
            return ""
        plan = self._formula(record.item_id)
        return plan.no_base if figures is NO_BASE else plan.text.format_map(figures)

    def _formula(self, item_id: str) -> _Formula | None:
        """The formula of an item with its words in place (None for judgement items), made once:
        a month applies it to every agent."""
        if item_id not in self._formulas:
            item = self.ruleset.weights.item(item_id)
            self._formulas[item_id] = None if item.kind == "judgement" else self._prepared(item)
        return self._formulas[item_id]

    def _prepared(self, item) -> _Formula:
        spec = item.measure
        num_id = spec.numerator if spec.kind == "ratio" else spec.value
        den_id = _denominator(spec)
        words = {"measure": _literal(item.measure_label(self.lang)), "num_label": _literal(self.label(num_id)),
                 "den_label": _literal(self.label(den_id))}
        blanks = {name: "{" + name + "}" for name in ("rate", "num", "den", "size")}
        key = "explain_standard" if spec.kind == "ratio" and spec.standard is not None else f"explain_{spec.kind}"
        return _Formula(i18n.text(key, self.lang, **words, **blanks),
                        i18n.text("explain_no_base", self.lang, measure=item.measure_label(self.lang), rate="—"),
                        num_id, den_id, self._shown(num_id),
                        self._shown(num_id if spec.kind == "team_share" else den_id),
                        numbers.percent if spec.kind in RATE_KINDS else numbers.plain)

    def _shown(self, field_id: str) -> Callable[[Decimal], str]:
        """How a field's values are written (money grouped, counts whole), looked up once per field."""
        if field_id not in self._shows:
            f = self.ruleset.field(field_id.removeprefix("team."))
            self._shows[field_id] = numbers.grouped if f is not None and f.type == "money" else numbers.plain
        return self._shows[field_id]

    def rule(self, record: ItemResult) -> str:
        """The tier that matched, in plain words, with steps, scaling and notes."""
        if record.tier_label is None:
            return ""
        key = _rule_key(record)
        if key not in self._rules:
            self._rules[key] = self._rule(record, key[3])
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


class _Formula(NamedTuple):
    """An item's formula in one language, its words in place and its figures blank
    (``{rate}``, ``{num}``, ``{den}``, ``{size}``), and how to write those figures; the
    words for a growth without base month."""

    text: str
    no_base: str
    num_id: str
    den_id: str
    num_value: Callable[[Decimal], str]
    den_value: Callable[[Decimal], str]
    rate: Callable[[Decimal], str]


def _literal(words: str) -> str:
    """``words`` as literal text in a format string."""
    return words.replace("{", "{{").replace("}", "}}")


def _denominator(spec) -> str:
    if spec.kind == "ratio":
        return spec.denominator or "standard"
    if spec.kind == "growth":
        return spec.base
    return f"team.{spec.value}" if spec.kind == "team_share" else spec.value


NO_BASE: dict[str, str] = {}  # the figures of a growth without base month: its formula says so instead


def _rule_key(record: ItemResult) -> tuple:
    """What the words of the tier that matched follow from."""
    scaled = record.bracket if "scaled" in record.notes else None
    return (record.item_id, record.tier, record.steps, scaled, record.notes,
            record.measure if "zero_denominator" in record.notes else None)


def _tail_key(record: ItemResult) -> tuple:
    """What the rule-and-points tail of a line follows from."""
    return _rule_key(record), record.points, record.weight


def item(ruleset: rules.Ruleset, record: ItemResult, lang: str) -> str:
    """One record's line (for a single record; many go through one :class:`Explainer`)."""
    return Explainer(ruleset, lang).item(record)


def texts(explainers: dict[str, Explainer], result: AgentResult) -> dict[str, dict[str, str]]:
    """Language → item → the line :meth:`Explainer.item` gives for ``result``, by explainers
    of one ruleset: the agent's figures are written once for all the languages."""
    return lines(explainers, result.items)


def lines(explainers: dict[str, Explainer], records: Sequence[ItemResult]) -> dict[str, dict[str, str]]:
    """Language → item → the line :meth:`Explainer.item` gives for each of ``records`` (an
    agent's, e.g. read back from the ledger by :func:`kpi.core.records.items`)."""
    written: dict[str, dict[str, str]] = {code: {} for code in explainers}
    pairs = [(written[code], explainer) for code, explainer in explainers.items()]
    first = pairs[0][1]
    for record in records:
        if record.group == "qualitative":
            for lines, explainer in pairs:
                lines[record.item_id] = explainer.points(record)
            continue
        figures, key = first.figures(record), _tail_key(record)
        for lines, explainer in pairs:
            lines[record.item_id] = explainer.written(record, figures) + explainer._tail(record, key)
    return written
