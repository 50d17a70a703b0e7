"""Turning an agent's inputs into the value an item's tiers are compared with.

Division is exact decimal division; a rate is never rounded before comparison.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import NamedTuple

from kpi.core import rules
from kpi.core.agents import TeamContext

ONE = Decimal(1)


class Measured(NamedTuple):
    """A measured value with what produced it.

    value:  the rate or count compared with the tiers; ``None`` when there is
            nothing to compare (no base month)
    inputs: (name, value) pairs used, team figures as ``team.<field>`` / ``team.size``
    factor: multiplier applied to tier bounds (team-size scaling), 1 otherwise
    notes:  message keys for what the reader should know (no_base, zero_denominator)
    """

    value: Decimal | None
    inputs: tuple[tuple[str, Decimal | None], ...]
    factor: Decimal = ONE
    notes: tuple[str, ...] = ()


def measure(spec: rules.Measure, values: Mapping[str, Decimal | None], team: TeamContext) -> Measured:
    """Apply a measure spec (ratio, growth, value, team_share) to one agent."""
    return _KINDS[spec.kind](spec, values, team)


def _ratio(spec: rules.RatioMeasure, values, team) -> Measured:
    numerator = values[spec.numerator]
    if spec.standard is not None:
        return Measured(numerator / spec.standard, ((spec.numerator, numerator), ("standard", spec.standard)))
    denominator = values[spec.denominator]
    inputs = ((spec.numerator, numerator), (spec.denominator, denominator))
    return _divide(numerator, denominator, spec.zero_denominator, inputs)


def _growth(spec: rules.GrowthMeasure, values, team) -> Measured:
    value, base = values[spec.value], values[spec.base]
    inputs = ((spec.value, value), (spec.base, base))
    if not base:
        return Measured(None, inputs, notes=("no_base",))
    return Measured((value - base) / base, inputs)


def _value(spec: rules.ValueMeasure, values, team) -> Measured:
    return Measured(values[spec.value], ((spec.value, values[spec.value]),))


def _team_share(spec: rules.TeamShareMeasure, values, team: TeamContext) -> Measured:
    own, total, size = values[spec.value], team.totals[spec.value], Decimal(team.size)
    inputs = ((spec.value, own), (f"team.{spec.value}", total), ("team.size", size))
    shared = _divide(own, total, spec.zero_denominator, inputs)
    return shared._replace(factor=spec.reference_team_size / size)


def _divide(numerator, denominator, when_zero, inputs) -> Measured:
    if denominator:
        return Measured(numerator / denominator, inputs)
    if when_zero is None:
        raise ZeroDivisionError(f"{inputs[-1][0]} is 0 and the item gives no zero_denominator value")
    return Measured(when_zero, inputs, notes=("zero_denominator",))


_KINDS = {"ratio": _ratio, "growth": _growth, "value": _value, "team_share": _team_share}
