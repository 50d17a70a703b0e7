"""Exact numbers: every value that is scored or paid is a ``Decimal``.

One helper, :func:`D`, builds them; floats (as openpyxl returns numeric cells)
go through their shortest ``repr`` so that 0.1 stays 0.1, the number Excel shows.
Nothing here rounds: rounding happens once, in :mod:`kpi.core.pay`.
"""

from __future__ import annotations

import decimal
import functools
from decimal import Decimal

ZERO = Decimal(0)
HUNDRED = Decimal(100)
CENT = Decimal("0.01")
PERCENT_QUANTUM = Decimal("0.0001")  # of a percentage: four decimals are shown
HUGE_PERCENT = 15                    # percentages from 10^15 on are shown with an exponent


def D(value: object) -> Decimal:
    """Return ``value`` as an exact Decimal (str, int, float or Decimal)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, (int, str)):
        return Decimal(value)
    raise TypeError(f"not a number: {value!r}")


@functools.lru_cache(maxsize=1 << 14)
def plain(value: Decimal) -> str:
    """Shortest exact text of ``value``, without exponent: 30, 7.5, 0.015.

    It depends on the value alone (7.50 and 7.5 give the same text), so it is
    remembered: a month writes the same points and weights many times over."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def short(value: Decimal) -> str:
    """:func:`plain` for a number of at most 15 digits either side of the point, else with an
    exponent (1.2346E+20, 5E-324): a message never shows a number hundreds of digits long."""
    return plain(value) if not value or -15 <= value.adjusted() < 15 else f"{value.normalize():.4E}"


_SHARED: dict[str, Decimal] = {}


def shared(value: Decimal) -> Decimal:
    """One instance per distinct ``value`` as written (5 and 5.0 stay apart): a month's
    points take a handful of values, kept once instead of once per agent and item."""
    return _SHARED.setdefault(str(value), value) if len(_SHARED) < 1 << 14 else value


def parsed(text: str) -> Decimal:
    """The Decimal of ``text``, as the shared instance of :func:`shared`."""
    known = _SHARED.get(text)
    return shared(Decimal(text)) if known is None else known


@functools.lru_cache(maxsize=1 << 14)
def json_number(value: Decimal) -> int | float:
    """A JSON number for points and multipliers (halves and tenths are exact)."""
    if value == value.to_integral_value():
        return int(value)
    return float(plain(value))


# The texts below depend on a value alone (1.5 and 1.50 read the same; a zero is 0 whatever
# its sign), so each is remembered: a month writes the same pay and rates in several places.
@functools.lru_cache(maxsize=1 << 14)
def money(value: Decimal) -> str:
    """Money as text with two decimals, the way payroll shows it: 1234.50."""
    return format((value or ZERO).quantize(CENT), "f")


@functools.lru_cache(maxsize=1 << 14)
def grouped(value: Decimal) -> str:
    """Money with thousands separators for people: 92,000.00."""
    return format((value or ZERO).quantize(CENT), ",f")


@functools.lru_cache(maxsize=1 << 14)
def percent(rate: Decimal) -> str:
    """A rate as a percentage, exact to four decimals, truncated with '…'.

    Truncation (toward minus infinity) never moves a value across a threshold
    in the reader's eyes: 1.49999% shows as 1.4999…%, not as 1.50%.
    """
    scaled = (rate or ZERO) * HUNDRED
    if scaled.adjusted() >= HUGE_PERCENT:  # beyond any real rate (a target of 0.0001): short, not 4 decimals
        return f"{scaled:.4E}%"
    shown = scaled.quantize(PERCENT_QUANTUM, rounding=decimal.ROUND_FLOOR)
    text = format(shown, "f").rstrip("0")
    whole, _, frac = text.partition(".")
    text = f"{whole}.{frac.ljust(2, '0')}"
    return f"{text}…%" if shown != scaled else f"{text}%"
