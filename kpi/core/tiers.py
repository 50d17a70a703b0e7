"""Brackets: ranges of a measured value with explicit inclusive ends.

Tiers of an item and pay bands are both brackets. A chain of brackets is listed
lowest first, must start unbounded below, end unbounded above, and neighbours
must meet exactly (no gap, no overlap); :func:`check_chain` says what is wrong.
Which side of a boundary counts is data (``min_inclusive`` / ``max_inclusive``),
following the Civil Code reading of 以上/以下 (inclusive) and 超过/低于 (exclusive).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, model_validator

from kpi.core import numbers
from kpi.core.errors import RuleFault


class Bracket(BaseModel):
    """A range ``min .. max`` of a measured value; ``None`` is unbounded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min: Decimal | None = None
    min_inclusive: bool = True
    max: Decimal | None = None
    max_inclusive: bool = False

    @model_validator(mode="after")
    def _bounds_ordered(self):
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise RuleFault("config_min_max", f"min {self.min} must be below max {self.max}", low=self.min, high=self.max)
        return self

    def contains(self, value: Decimal) -> bool:
        """Whether ``value`` lies in this bracket, honouring inclusive ends."""
        return _above_min(self, value) and _below_max(self, value)

    def describe(self, show=numbers.plain, var: str = "x") -> str:
        """The bracket in symbols: ``1% ≤ x < 1.5%``, ``x > 110%``, ``x ≤ 10%``."""
        low = "≤" if self.min_inclusive else "<"
        high = "≤" if self.max_inclusive else "<"
        if self.min is None:
            return f"{var} {high} {show(self.max)}" if self.max is not None else var
        if self.max is None:
            return f"{var} {'≥' if self.min_inclusive else '>'} {show(self.min)}"
        return f"{show(self.min)} {low} {var} {high} {show(self.max)}"


def _above_min(bracket: Bracket, value: Decimal) -> bool:
    if bracket.min is None:
        return True
    return value >= bracket.min if bracket.min_inclusive else value > bracket.min


def _below_max(bracket: Bracket, value: Decimal) -> bool:
    if bracket.max is None:
        return True
    return value <= bracket.max if bracket.max_inclusive else value < bracket.max


def find(chain: Sequence[Bracket], value: Decimal) -> int:
    """Index of the bracket of a checked chain that holds ``value``."""
    for index, bracket in enumerate(chain):
        if bracket.contains(value):
            return index
    raise LookupError(f"{value} lies in no bracket")  # impossible for a checked chain


def check_chain(chain: Sequence[Bracket], what: str) -> None:
    """Raise :class:`kpi.core.errors.RuleFault` (a ValueError) naming the first fault of an ordered chain."""
    if not chain:
        raise RuleFault("config_no_brackets", f"no {what} given", what=what)
    _check_order(chain, what)
    if chain[0].min is not None:
        raise RuleFault("config_first_min", f"the first of the {what} (lowest) must have no min: nothing may fall below it",
                        what=what)
    if chain[-1].max is not None:
        raise RuleFault("config_last_max", f"the last of the {what} (highest) must have no max: nothing may lie above it",
                        what=what)
    for index, (low, high) in enumerate(zip(chain, chain[1:])):
        _check_meeting(low, high, what, index)


def _check_order(chain: Sequence[Bracket], what: str) -> None:
    """Bounds must rise from one bracket to the next (lowest listed first)."""
    for index, (low, high) in enumerate(zip(chain, chain[1:])):
        if low.min is not None and high.min is not None and high.min <= low.min:
            raise RuleFault("config_not_ascending", f"{what}[{index}] and {what}[{index + 1}] are not in ascending "
                            f"order (list the lowest first)", what=what, first=index, second=index + 1)


def _check_meeting(low: Bracket, high: Bracket, what: str, index: int) -> None:
    """Brackets ``what[index]`` and the next meet exactly: no gap, no overlap."""
    where = f"{what}[{index}] and {what}[{index + 1}]"
    pair = {"what": what, "first": index, "second": index + 1}
    if low.max is None or high.min is None:
        raise RuleFault("config_open_ends", f"{where}: only the first may lack min and only the last may lack max",
                        **pair)
    if low.max < high.min:
        raise RuleFault("config_gap", f"{where} leave a gap between {low.max} and {high.min}", **pair,
                        low=low.max, high=high.min)
    if low.max > high.min:
        raise RuleFault("config_overlap", f"{where} overlap between {high.min} and {low.max}", **pair,
                        low=high.min, high=low.max)
    if low.max_inclusive and high.min_inclusive:
        raise RuleFault("config_overlap_at", f"{where} overlap at {low.max}: both include it (set one side's "
                        "*_inclusive = false)", **pair, at=low.max)
    if not low.max_inclusive and not high.min_inclusive:
        raise RuleFault("config_gap_at", f"{where} leave a gap at {low.max}: neither includes it (set one side's "
                        "*_inclusive = true)", **pair, at=low.max)


def scaled(bracket: Bracket, factor: Decimal) -> Bracket:
    """The same bracket with both bounds multiplied by a positive ``factor``."""
    scale = lambda bound: None if bound is None else bound * factor  # noqa: E731
    return bracket.model_copy(update={"min": scale(bracket.min), "max": scale(bracket.max)})
