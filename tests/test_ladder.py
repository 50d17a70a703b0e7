"""The level ladder: moves stop at its ends, "+1|0" waits for the supervisor, dismissal is a flag."""

import pytest

from helpers import ruleset
from kpi.core import ladder

LEVELS = ruleset().pay.levels   # P1 … P6


@pytest.mark.parametrize("current, recommendation, decision, expected", [
    ("P1", "+2", None, ("P3", 2, "")),
    ("P5", "+2", None, ("P6", 1, "")),          # stops at the top
    ("P6", "+2", None, ("P6", 0, "")),
    ("P3", "+1|0", None, ("P3", 0, "undecided")),
    ("P3", "+1|0", "0", ("P3", 0, "")),
    ("P3", "+1|0", "+1", ("P4", 1, "")),
    ("P6", "+1|0", "+1", ("P6", 0, "")),
    ("P3", "0", None, ("P3", 0, "")),
    ("P3", "-1", None, ("P2", -1, "probation")),
    ("P1", "-1", None, ("P1", 0, "probation")),  # stops at the bottom
    ("P4", "dismiss", None, ("P4", 0, "dismiss")),
])
def test_next_level(current, recommendation, decision, expected):
    move = ladder.next_level(LEVELS, current, recommendation, decision)
    assert (move.level_to, move.change, move.flag) == expected
    assert move.level_from == current
