"""From a total score to a pay band, a multiplier, pay and a level recommendation.

Pay = 级别工资 + 绩效工资 × multiplier, rounded once, here, by the config's rule.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import NamedTuple

from kpi.core import rules, tiers


class PayResult(NamedTuple):
    """The pay computation of one agent, every step kept for the payslip.

    band: index of the band in the pay table; band_label its range in words
    multiplier: the band's multiplier
    base_pay, performance_pay: the figures used; ``source`` says whether they
        came from the level table ("level") or the agent's row ("input")
    performance_part: performance_pay × multiplier, exact
    total_pay: base_pay + performance_part, rounded once by ``rounding``
    level_change: the band's level recommendation
    """

    band: int
    band_label: rules.Label
    multiplier: Decimal
    base_pay: Decimal
    performance_pay: Decimal
    source: str
    performance_part: Decimal
    total_pay: Decimal
    level_change: rules.LevelChange
    rounding: rules.Rounding


def band_for(pay: rules.PayVersion, total: Decimal) -> int:
    """Index of the band that holds ``total``."""
    return tiers.find(pay.bands, total)


def figures(pay: rules.PayVersion, level_id: str, base: Decimal | None, performance: Decimal | None):
    """(base_pay, performance_pay, source): the agent's overrides, else the level table."""
    level = pay.level(level_id)
    if base is not None and performance is not None:
        return base, performance, "input"
    if level is None:
        raise KeyError(f"unknown level {level_id!r}")
    source = "level" if base is None and performance is None else "input"
    return (level.base_pay if base is None else base,
            level.performance_pay if performance is None else performance, source)


def compute(pay: rules.PayVersion, total: Decimal, level_id: str,
            base: Decimal | None = None, performance: Decimal | None = None) -> PayResult:
    """The full pay computation for a total score and level."""
    index = band_for(pay, total)
    band = pay.bands[index]
    base_pay, performance_pay, source = figures(pay, level_id, base, performance)
    part = performance_pay * band.multiplier
    return PayResult(
        band=index, band_label=band.label, multiplier=band.multiplier,
        base_pay=base_pay, performance_pay=performance_pay, source=source,
        performance_part=part, total_pay=round_pay(pay.rounding, base_pay + part),
        level_change=band.level_change, rounding=pay.rounding,
    )


def round_pay(rounding: rules.Rounding, amount: Decimal) -> Decimal:
    """``amount`` rounded to the quantum by the configured mode: the one rounding."""
    return amount.quantize(rounding.quantum, rounding=getattr(decimal, rounding.mode))
