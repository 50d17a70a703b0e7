"""The level ladder: where an agent stands next month.

Pure: from the ordered level table, the agent's level, the band's
recommendation and a person's decision to the next level and a flag HR must
act on. The recommendations are recommendations (建议…): one the approval
policy does not let apply by itself waits for a decision (``pending``), and a
month closed by force without it keeps the agent's level (flag ``unapproved``).
Moves stop at the ladder's ends; a dismissal is flagged, never applied.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import NamedTuple

from kpi.core import rules

STEPS = {"+2": 2, "+1": 1, "0": 0, "-1": -1, "dismiss": 0}
DECISIONS = ("+2", "+1", "0", "-1", "dismiss")
AUTOMATIC = frozenset({"+2", "+1|0", "0", "-1", "dismiss"})  # no policy given: every recommendation applies


class Move(NamedTuple):
    """Next month's level: ``change`` as applied (+2, +1, 0, -1), ``flag`` for HR."""

    level_from: str
    level_to: str
    change: int
    flag: str


def pending(recommendation: str, decision: str | None, automatic: Collection[str] = AUTOMATIC) -> bool:
    """Whether the recommendation still waits for a person's decision."""
    return decision is None and recommendation not in automatic


def next_level(levels: Sequence[rules.Level], current: str, recommendation: str, decision: str | None,
               automatic: Collection[str] = AUTOMATIC) -> Move:
    """Apply the decision (or the recommendation when the policy lets it apply alone) within the ladder's ends."""
    ids = [level.id for level in levels]
    if decision is not None:
        applied, flag = decision, {"dismiss": "dismiss", "-1": "probation"}.get(decision, "")
    elif recommendation not in automatic:
        applied, flag = "0", "unapproved"
    elif recommendation == "+1|0":
        applied, flag = "0", "undecided"
    else:
        applied, flag = recommendation, {"dismiss": "dismiss", "-1": "probation"}.get(recommendation, "")
    index = ids.index(current)
    target = min(max(index + STEPS[applied], 0), len(ids) - 1)
    return Move(current, ids[target], target - index, flag)
