"""From a grid of cells to validated agents, or to a list of every problem.

The reader (an edge) turns a file into a :class:`Grid`: rows of raw cell values
with their row numbers. This module, pure, finds the header row, maps headers
to fields, parses each value exactly and checks the bounds and relations of
``config/fields.toml``. It returns ``(agents, problems)``; a caller that gets
problems writes nothing.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import NamedTuple

from kpi import numbers, rules
from kpi.agents import AgentInput
from kpi.errors import InputProblem

HEADER_SCAN = 10          # rows searched for the header row
TOTAL_ROW_WORDS = {"合计", "总计", "小计", "total", "sum"}
_MONEY_MARKS = re.compile(r"^[¥￥]|元$")


class Grid(NamedTuple):
    """A file's cells as read: ``rows`` yields (row number, tuple of values).

    where(row, col) names a cell for people: ``填报表!C5`` (col counts from 0),
    or the whole row, ``填报表!5:5``, when col is None. ``formula(row, col)``
    gives the formula of a cell that holds one (xlsx only), so an empty cached
    value can be told apart from an empty cell; ``text_cells`` says whether the
    format stores numbers as numbers (xlsx) or everything as text (csv).
    ``size``: the last row number the file declares (an xlsx sheet's dimension),
    to show progress by; None when unknown.
    """

    source: str
    rows: Iterable[tuple[int, Sequence[object]]]
    where: Callable[[int, int | None], str]
    formula: Callable[[int, int], str | None] = lambda row, col: None
    typed: bool = False
    size: int | None = None
    period: str | None = None   # the month the workbook says it is for (defined name kpi_period), if any


class Columns(NamedTuple):
    """The header row: its number and which column holds which field."""

    row: int
    by_field: dict[str, int]


class Parsed(NamedTuple):
    """What a sheet holds: valid agents, problems (fatal) and notices (how odd cells were read)."""

    agents: list[AgentInput]
    problems: list[InputProblem]
    notices: list[InputProblem]


class _Row(NamedTuple):
    """One data row being checked: where it is, its cells by field, whose it is."""

    number: int
    cells: dict[str, object]
    who: str
    columns: Columns
    grid: Grid

    def where(self, field_id: str) -> str:
        return self.grid.where(self.number, self.columns.by_field[field_id]) if field_id in self.columns.by_field else ""

    def problem(self, field_id: str, code: str, *params, value: object = None) -> InputProblem:
        shown = _shown(self.cells.get(field_id) if value is None else value)
        return InputProblem(self.who, field_id, self.where(field_id), shown, code, params)


def parse(grid: Grid, ruleset: rules.Ruleset) -> Parsed:
    """Validate every row of ``grid``; return the agents, every problem and every notice."""
    rows = iter(grid.rows)
    columns, problems = _find_header(rows, grid, ruleset)
    result = Parsed([], problems, [])
    if columns is None:
        return result
    seen: dict[str, str] = {}
    for number, values in rows:
        agent_id, agent = _parse_row(number, values, columns, grid, ruleset, result)
        if agent_id:
            _check_unique(agent_id, seen, grid.where(number, columns.by_field["agent_id"]), problems)
        if agent is not None:
            result.agents.append(agent)
    if not result.agents and not problems:
        problems.append(InputProblem("", "", grid.source, "", "no_rows"))
    return result


# ------------------------------------------------------------------ header
def normalise_header(text: object) -> str:
    """Header text folded for matching: NFKC, no spaces, lower case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or ""))).lower()


def header_names(ruleset: rules.Ruleset) -> dict[str, str]:
    """Every accepted header (folded) → field id."""
    names = {}
    for f in ruleset.fields:
        for name in (f.id, f.label.zh, f.label.en, *f.aliases):
            names[normalise_header(name)] = f.id
    return names


def _find_header(rows, grid: Grid, ruleset: rules.Ruleset) -> tuple[Columns | None, list[InputProblem]]:
    names = header_names(ruleset)
    for number, values in rows:
        matched = [(i, names.get(normalise_header(v))) for i, v in enumerate(values)]
        matched = [(i, f) for i, f in matched if f]
        if len(matched) >= 2:
            return _map_columns(number, matched, grid, ruleset)
        if number >= HEADER_SCAN:
            break
    return None, [InputProblem("", "", grid.source, "", "no_header",
                               (("examples", "、".join(f.label.zh for f in ruleset.fields[:4])),))]


def _map_columns(number: int, matched, grid: Grid, ruleset: rules.Ruleset):
    by_field: dict[str, int] = {}
    problems = []
    for index, field_id in matched:
        if field_id in by_field:
            problems.append(InputProblem("", field_id, grid.where(number, index), "", "duplicate_column",
                                         (("other", grid.where(number, by_field[field_id])),)))
        else:
            by_field[field_id] = index
    for f in ruleset.fields:
        if f.required and f.id not in by_field:
            problems.append(InputProblem("", f.id, grid.where(number, None), "", "missing_column"))
    return (None if problems else Columns(number, by_field)), problems


# ------------------------------------------------------------------ rows
def _parse_row(number, values, columns: Columns, grid: Grid, ruleset: rules.Ruleset, result: Parsed):
    """(agent id as typed, AgentInput or None); (None, None) for blank and total rows."""
    cells = {f: (values[i] if i < len(values) else None) for f, i in columns.by_field.items()}
    if all(_blank(v) for v in cells.values()) or _is_total_row(cells):
        return None, None
    row = _Row(number, cells, _text(cells.get("agent_id")) or _text(cells.get("name")), columns, grid)
    parsed, found = {}, []
    for f in ruleset.fields:
        parsed[f.id], problem = _parse_cell(row, f)
        if problem is not None:
            found.append(problem)
        if isinstance(cells.get(f.id), str) and f.type != "text" and parsed[f.id] is not None:
            result.notices.extend(_notice(row, f, parsed[f.id]))
    found += _check_cents(row, parsed, ruleset, result.notices)
    found += _check_relations(row, parsed, ruleset) + _check_level(row, parsed, ruleset)
    result.problems.extend(found)
    if found:
        return parsed["agent_id"], None
    identity = {k: parsed.pop(k, "") for k in ("agent_id", "name", "team", "level")}
    comments = {}
    for f in ruleset.fields:
        if f.comment_for is not None:
            text = parsed.pop(f.id, None)
            if text:
                comments["comment" if f.comment_for == "month" else f.comment_for] = text
    return identity["agent_id"], AgentInput(**identity, values=parsed, origin=grid.where(number, 0),
                                            comments=comments)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _is_total_row(cells: dict) -> bool:
    words = {normalise_header(cells.get("agent_id")), normalise_header(cells.get("name"))}
    return bool(words & TOTAL_ROW_WORDS)


def _text(value: object) -> str:
    """Identity text as typed: 1001.0 from Excel becomes '1001'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _shown(value: object) -> str:
    return "" if value is None else _text(value)


def _parse_cell(row: _Row, f: rules.InputField):
    """(parsed value, problem or None) for one cell of the row."""
    value = row.cells.get(f.id)
    if _blank(value):
        return None, (_empty_problem(row, f) if f.required else None)
    if f.type == "text":
        text = _text(value) if f.comment_for is None else str(value).strip()
        if f.max_length is not None and len(text) > f.max_length:
            code = "comment_too_long" if f.comment_for else "text_too_long"
            return None, row.problem(f.id, code, ("max_length", f.max_length), ("length", len(text)),
                                     value=text[:12] + "…")
        return text, None
    number = parse_number(value, money=f.type == "money")
    if number is None:
        return None, row.problem(f.id, "not_a_number")
    return number, _check_bounds(f, number, lambda code, *params: row.problem(f.id, code, *params))


def _empty_problem(row: _Row, f: rules.InputField) -> InputProblem:
    """An empty required cell; a formula whose value was never calculated says so."""
    formula = row.grid.formula(row.number, row.columns.by_field[f.id]) if f.id in row.columns.by_field else None
    if formula:
        return row.problem(f.id, "formula_no_value", value=formula)
    return row.problem(f.id, "required")


def _notice(row: _Row, f: rules.InputField, parsed: object) -> list[InputProblem]:
    """How a number was read when it was typed in a form other than a plain number."""
    value = row.cells.get(f.id)
    if f.type == "text" or parsed is None or not isinstance(value, str):
        return []
    if value.strip() != numbers.plain(parsed) and value.strip() != str(parsed):
        return [row.problem(f.id, "read_as", ("number", numbers.plain(parsed)))]
    return [row.problem(f.id, "number_as_text")] if row.grid.typed else []


@functools.lru_cache(maxsize=4096, typed=True)
def _typed_number(value: int | float) -> Decimal:
    """``numbers.D(value)``, one instance per value recently seen: a month's counts and
    judgement points repeat from agent to agent, and its agents are all kept until written.
    (Not for zero, whose sign the cache would not tell apart, nor Decimals: 5 == 5.0.)"""
    return numbers.D(value)


def parse_number(value: object, money: bool = False) -> Decimal | None:
    """An exact Decimal from a cell: a number, or text such as '1,200', '１２００', '¥3,000'."""
    if isinstance(value, (bool, datetime.date, datetime.time)):
        return None
    if isinstance(value, (int, float, Decimal)):
        number = _typed_number(value) if value and not isinstance(value, Decimal) else numbers.D(value)
        return number if number.is_finite() else None
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "")
    if money:
        text = _MONEY_MARKS.sub("", text).strip()
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):
        return None
    return Decimal(text)


def _check_bounds(f: rules.InputField, number: Decimal, problem) -> InputProblem | None:
    if f.type == "count" and number != number.to_integral_value():
        return problem("not_whole")
    if f.min is not None and (number <= f.min if f.min_exclusive else number < f.min):
        return problem("above_min" if f.min_exclusive else "at_least_min", ("min", numbers.plain(f.min)))
    if f.max is not None and number > f.max:
        return problem("at_most_max", ("max", numbers.plain(f.max)))
    if f.increment is not None and number % f.increment != 0:
        return problem("increment", ("increment", numbers.plain(f.increment)))
    return None


def _check_cents(row: _Row, parsed: dict, ruleset: rules.Ruleset, notices: list) -> list[InputProblem]:
    """Money typed with more than two decimals (1000.005): a problem, or, when fields.toml says
    ``money_decimals = "notice"``, rounded to cents here by the pay rounding rule, so every
    figure shown and computed from it is the same amount."""
    found = []
    for f in ruleset.fields:
        value = parsed.get(f.id)
        if f.type != "money" or value is None or not value.is_finite() or value.normalize().as_tuple().exponent >= -2:
            continue
        rounded = None
        if ruleset.money_decimals == "notice":
            with contextlib.suppress(ArithmeticError):   # too many digits to round: refused below
                rounded = value.quantize(numbers.CENT, rounding=ruleset.pay.rounding.mode)
        if rounded is None:
            found.append(row.problem(f.id, "money_decimals"))
        else:
            parsed[f.id] = rounded
            notices.append(row.problem(f.id, "money_decimals_rounded", ("value", numbers.plain(parsed[f.id]))))
    return found


def _check_relations(row: _Row, parsed: dict, ruleset: rules.Ruleset) -> list[InputProblem]:
    """``at_most`` relations between fields: deals <= visits, refunds <= orders."""
    found = []
    for f in ruleset.fields:
        value, limit = parsed.get(f.id), parsed.get(f.at_most) if f.at_most else None
        if value is not None and limit is not None and value > limit:
            found.append(row.problem(f.id, "at_most_field", ("other", f.at_most), ("limit", numbers.plain(limit))))
    return found


def _check_level(row: _Row, parsed: dict, ruleset: rules.Ruleset) -> list[InputProblem]:
    level = parsed.get("level")
    if level is None or ruleset.pay.level(level) is not None:
        return []
    known = "、".join(lv.id for lv in ruleset.pay.levels)
    return [row.problem("level", "unknown_level", ("known", known), value=level)]


def _check_unique(agent_id: str, seen: dict[str, str], where: str, problems: list[InputProblem]) -> None:
    if agent_id in seen:
        problems.append(InputProblem(agent_id, "agent_id", where, agent_id, "duplicate_id", (("other", seen[agent_id]),)))
    else:
        seen[agent_id] = where
