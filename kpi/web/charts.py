"""The team summary's charts as plain SVG geometry, drawn by a Jinja template (no script,
no style attribute, so the strict CSP holds and they print as they show).

No maintained Python chart library fits without either inline styles/scripts in its
SVG (pygal) or a heavy dependency (matplotlib); bar charts need only rectangles.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple

from kpi.core import numbers

WIDTH, BAR_HEIGHT, GAP, LABEL_WIDTH = 360, 18, 6, 130


class Bar(NamedTuple):
    label: str
    value: str
    y: int
    width: int


class Chart(NamedTuple):
    title: str
    bars: tuple[Bar, ...]
    width: int
    height: int
    label_width: int


def bars(title: str, values: Sequence[tuple[str, Decimal | int]]) -> Chart:
    """A horizontal bar chart of ``values`` (label, amount), longest bar = the largest amount."""
    top = max((Decimal(v) for _, v in values), default=Decimal(0)) or Decimal(1)
    room = WIDTH - LABEL_WIDTH - 40
    drawn = tuple(Bar(label, numbers.plain(Decimal(value)), index * (BAR_HEIGHT + GAP), max(0, int(room * Decimal(value) / top)))
                  for index, (label, value) in enumerate(values))
    return Chart(title, drawn, WIDTH, max(1, len(drawn)) * (BAR_HEIGHT + GAP), LABEL_WIDTH)


def histogram(totals: Sequence[Decimal], step: int = 10) -> list[tuple[str, int]]:
    """Agents per range of ``step`` points of total (empty ranges between kept, for the shape)."""
    if not totals:
        return []
    low, high = int(min(totals)) // step * step, int(max(totals)) // step * step
    counts = {start: 0 for start in range(low, high + step, step)}
    for total in totals:
        counts[int(total) // step * step] += 1
    return [(f"{start}–{start + step}", count) for start, count in counts.items()]
