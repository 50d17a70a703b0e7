"""An agent's item records as plain data, and back: what the ledger keeps instead of text.

A record is what :class:`kpi.core.scoring.ItemResult` carries that the rules do not already
say: the item, the inputs used, the measured value, the tier (its index), the steps, the
points and the notes, with every Decimal written as text (``str``, so it reads back the
same Decimal, exponent and trailing zeros included). The item's words, the tier's words and
its bounds come back from the ruleset the month was scored by (kept beside the records);
only a bracket scaled to the team size is kept with the record. :func:`items` rebuilds the
records :mod:`kpi.core.explain` renders, in any language, whenever they are shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import orjson

from kpi.core import rules
from kpi.core.scoring import ItemResult


def _number(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _decimal(value: object) -> str:
    """How :func:`dumps` writes a Decimal: as text that reads back the same Decimal."""
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not a record value: {type(value).__name__}")


def dumps(records: Sequence[ItemResult]) -> bytes:
    """The records as JSON (Decimals as text), in item order: a list of objects with the keys
    item, group, weight, inputs ([field, value] pairs), measure, tier, steps, points, notes,
    and ``scaled`` ([min, max]) for a bracket scaled to the team size. Made in one pass by
    orjson: a month end writes one per agent."""
    return orjson.dumps([
        {"item": r.item_id, "group": r.group, "weight": r.weight, "inputs": r.inputs, "measure": r.measure,
         "tier": r.tier, "steps": r.steps, "points": r.points, "notes": r.notes}
        if "scaled" not in r.notes or r.bracket is None else
        {"item": r.item_id, "group": r.group, "weight": r.weight, "inputs": r.inputs, "measure": r.measure,
         "tier": r.tier, "steps": r.steps, "points": r.points, "notes": r.notes,
         "scaled": (r.bracket.min, r.bracket.max)}
        for r in records], default=_decimal)


def plain(records: Sequence[ItemResult]) -> list[dict]:
    """The records as :func:`dumps` writes them, read back as plain data (for a reader of the JSON)."""
    return orjson.loads(dumps(records))


def items(ruleset: rules.Ruleset, stored: Sequence[dict]) -> tuple[ItemResult, ...]:
    """The records of :func:`plain` as item results again, their words and bounds taken from
    ``ruleset`` (the one that scored them): equal to the records that were stored."""
    return tuple(_item(ruleset, record) for record in stored)


def _item(ruleset: rules.Ruleset, record: dict) -> ItemResult:
    item = ruleset.weights.item(record["item"])
    measure, tier = _number(record["measure"]), record["tier"]
    tier_label, bracket = None, None
    if item.kind != "judgement":
        if tier is None:
            tier_label = item.no_base.label
        else:
            bracket = item.tiers[tier]
            tier_label = bracket.label
            if "scaled" in record:
                low, high = record["scaled"]
                bracket = bracket.model_copy(update={"min": _number(low), "max": _number(high)})
    return ItemResult(record["item"], record["group"], item.label, Decimal(record["weight"]),
                      tuple((name, _number(value)) for name, value in record["inputs"]), measure, tier,
                      tier_label, bracket, record["steps"], Decimal(record["points"]), tuple(record["notes"]))
