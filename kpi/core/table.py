"""The payroll table, built once and rendered by every writer.

:func:`payroll` turns results into :class:`Row` values and :data:`COLUMNS`
says, once, which columns exist, their header message and their kind; the
xlsx, CSV and terminal renderers all walk these, none recomputes a figure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import NamedTuple

import orjson

from kpi.core import i18n, numbers
from kpi.core.scoring import AgentResult


class Column(NamedTuple):
    """A payroll column: row attribute, header message key, kind (text/points/multiplier/money)."""

    key: str
    header: str
    kind: str


COLUMNS = (
    Column("agent_id", "col_agent_id", "text"),
    Column("name", "col_name", "text"),
    Column("team", "col_team", "text"),
    Column("level", "col_level", "text"),
    Column("total", "col_total", "points"),
    Column("band", "col_band", "text"),
    Column("multiplier", "col_multiplier", "multiplier"),
    Column("base_pay", "col_base_pay", "money"),
    Column("performance_pay", "col_performance_pay", "money"),
    Column("pay", "col_pay", "money"),
    Column("level_change", "col_level_change", "text"),
)
CLOSING = (
    Column("status", "col_status", "text"),
    Column("next_level", "col_next_level", "text"),
    Column("flag", "col_flag", "text"),
)
SUMMED = ("base_pay", "performance_pay", "pay")


class Row(NamedTuple):
    """One agent's payroll line; text cells already in the chosen language.

    ``points``, ``lost`` (per item, in the rules' order) and ``band_index`` are not
    payroll columns: the team summary and the terminal render them from the same rows."""

    agent_id: str
    name: str
    team: str
    level: str
    total: Decimal
    band: str
    multiplier: Decimal
    base_pay: Decimal
    performance_pay: Decimal
    pay: Decimal
    level_change: str
    status: str = ""
    next_level: str = ""
    flag: str = ""
    points: tuple[Decimal, ...] = ()
    lost: tuple[Decimal, ...] = ()
    band_index: int | None = None


def payroll(results: Sequence[AgentResult], lang: str) -> list[Row]:
    """Payroll rows, sorted by team then agent id, as HR reads them."""
    return ordered([row(result, lang) for result in results])


def ordered(rows: Sequence[Row]) -> list[Row]:
    """``rows`` sorted by team then agent id."""
    return sorted(rows, key=lambda r: (r.team, r.agent_id))


def row(result: AgentResult, lang: str) -> Row:
    """The row of one result. It outlives the result (a month's rows are kept, its results
    are not), so its points are the shared instances of :func:`numbers.shared`."""
    agent, pay = result.agent, result.pay
    points = tuple(numbers.shared(item.points) for item in result.items)
    lost = tuple(numbers.shared(item.lost) for item in result.items)
    return Row(agent.agent_id, agent.name, agent.team, agent.level, result.total, pay.band_label(lang),
               pay.multiplier, pay.base_pay, pay.performance_pay, pay.total_pay, pay.level_change(lang),
               points=points, lost=lost, band_index=pay.band)


def encoded(row: Row) -> str:
    """``row`` as JSON text, numbers as their exact text: the ledger keeps it so that a
    re-score can take an unchanged agent's row back (:func:`decoded`) instead of scoring again."""
    return orjson.dumps([_text(value) for value in row]).decode("utf-8")


def seal(text: str) -> bytes:
    """The sha256 of a row's :func:`encoded` ``text``: what a hash of many rows is made of."""
    return hashlib.sha256(text.encode("utf-8")).digest()


def digest(rows: Iterable[Row], seals: Mapping[str, bytes] | None = None) -> str:
    """A hash of ``rows`` by their seals (:func:`seal`: their encoded text tells every row apart),
    row by row: 100,000 rows never sit in memory as one text. The payroll and the summary's
    sheets are written from rows; their content keys take the rows in through this.

    ``seals``: agent id → the seal of that agent's row, made where the row was (a month's
    rows are encoded for the ledger anyway); a row without one is encoded here."""
    hashed = hashlib.sha256()
    for row in rows:
        known = seals.get(row.agent_id) if seals else None
        hashed.update(known or seal(encoded(row)))
    return hashed.hexdigest()


def _text(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return [str(number) for number in value]
    return value


_DECIMALS = tuple(Row._fields.index(name) for name in ("total", "multiplier", "base_pay", "performance_pay", "pay"))
_SHARED = tuple(Row._fields.index(name) for name in ("points", "lost"))


def decoded(text: str) -> Row:
    """The row :func:`encoded` gave ``text`` for, equal to it value for value (5.0 stays 5.0)."""
    values = orjson.loads(text)
    for index in _DECIMALS:
        values[index] = Decimal(values[index])
    for index in _SHARED:
        values[index] = tuple(map(numbers.parsed, values[index]))
    return Row._make(values)


def totals(rows: Sequence[Row]) -> dict[str, Decimal]:
    """Column sums of the money columns."""
    return {key: sum((getattr(row, key) for row in rows), Decimal(0)) for key in SUMMED}


def closed_payroll(stored: dict[str, dict], states: dict[str, str], moves: dict[str, tuple[str, str]],
                   lang: str) -> list[Row]:
    """Payroll rows of a closed month from the ledger's stored results.

    stored: agent id → ledger result row (identity and the stored result document)
    states: agent id → confirmation state text; moves: agent id → (next level, flag text)
    """
    rows = []
    for agent_id, row in stored.items():
        result = row["result"]
        rows.append(Row(agent_id, row["name"], row["team"], row["level"], Decimal(result["total"]),
                        result["band_label"][lang], Decimal(result["multiplier"]), Decimal(result["base_pay"]),
                        Decimal(result["performance_pay"]), Decimal(result["total_pay"]), result["level_change"][lang],
                        states.get(agent_id, ""), *moves.get(agent_id, ("", ""))))
    return sorted(rows, key=lambda r: (r.team, r.agent_id))


def headers(lang: str, columns=COLUMNS) -> list[str]:
    return [i18n.text(column.header, lang) for column in columns]


def cell_text(column: Column, value: object) -> str:
    """A cell as text (CSV and terminal): money with two decimals, exact numbers."""
    if column.kind == "money":
        return numbers.money(value)
    if column.kind in ("points", "multiplier"):
        return numbers.plain(value)
    return str(value)
