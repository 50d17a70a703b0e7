"""Excel formulas that recompute kpi's figures in a spreadsheet (written with their values).

The pay formula mirrors :func:`kpi.core.pay.compute`: 级别工资 + 绩效工资 × multiplier,
rounded once by the configured rule. An inner ROUND to 6 places removes binary
floating-point noise first, so a spreadsheet lands on the same cent as kpi's
exact decimals for money in cents and multipliers in hundredths.
"""

from __future__ import annotations

from decimal import Decimal

from kpi.core import rules

# decimal rounding mode → spreadsheet function, for amounts that are never negative
FUNCTIONS = {"ROUND_HALF_UP": "ROUND", "ROUND_DOWN": "ROUNDDOWN", "ROUND_FLOOR": "ROUNDDOWN",
             "ROUND_UP": "ROUNDUP", "ROUND_CEILING": "ROUNDUP"}


def digits(quantum: Decimal) -> int | None:
    """Decimal places of a power-of-ten quantum (0.01 → 2), else None."""
    exponent = quantum.normalize().as_tuple()
    return -exponent.exponent if exponent.digits == (1,) else None


def pay(rounding: rules.Rounding, base: str, performance: str, multiplier: str) -> str | None:
    """``=ROUND(ROUND(base+performance*multiplier,6),2)`` for the configured rounding;
    None when no spreadsheet function rounds that way (the cell then holds the value only)."""
    places, function = digits(rounding.quantum), FUNCTIONS.get(rounding.mode)
    if places is None or function is None:
        return None
    return f"={function}(ROUND({base}+{performance}*{multiplier},6),{places})"


def total(first: str, last: str) -> str:
    """Points: a plain sum (halves add up exactly in binary)."""
    return f"=SUM({first}:{last})"


def money_total(first: str, last: str, rounding: rules.Rounding) -> str:
    """Money: the sum rounded to the pay quantum, so binary noise never shows a stray fraction."""
    places = digits(rounding.quantum)
    return f"=SUM({first}:{last})" if places is None else f"=ROUND(SUM({first}:{last}),{places})"
