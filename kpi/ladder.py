"""The level ladder: where an agent stands next month.

Pure: from the ordered level table, the agent's level, the band's
recommendation and the supervisor's decision (for "+1|0") to the next level
and a flag HR must act on. Moves stop at the ladder's ends; a dismissal is
flagged, never applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from kpi import rules

STEPS = {"+2": 2, "0": 0, "-1": -1, "dismiss": 0}


class Move(NamedTuple):
    """Next month's level: ``change`` as applied (+2, +1, 0, -1), ``flag`` for HR."""

    level_from: str
    level_to: str
    change: int
    flag: str


def next_level(levels: Sequence[rules.Level], current: str, recommendation: str, decision: str | None) -> Move:
    """Apply a band's recommendation within the ladder's ends."""
    ids = [level.id for level in levels]
    step = (1 if decision == "+1" else 0) if recommendation == "+1|0" else STEPS[recommendation]
    index = ids.index(current)
    target = min(max(index + step, 0), len(ids) - 1)
    flag = {"dismiss": "dismiss", "-1": "probation"}.get(recommendation, "")
    if recommendation == "+1|0" and decision is None:
        flag = "undecided"
    return Move(current, ids[target], target - index, flag)
