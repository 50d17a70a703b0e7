"""From a grid of cells to validated agents, or to a list of every problem.

The reader (an edge) turns a file into a :class:`Grid`: rows of raw cell values
with their row numbers. This module, pure, finds the header row, maps headers
to fields, parses each value exactly and checks the bounds and relations of
``config/fields.toml``. It returns ``(agents, problems)``; a caller that gets
problems writes nothing. A usual row of a workbook takes a quick path planned once per
sheet (:func:`_quick_row`); any other row, the full path (:func:`_parse_row`).
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import NamedTuple

from kpi.core import identity, numbers, rules
from kpi.core.agents import AgentInput
from kpi.core.errors import InputProblem

HEADER_SCAN = 10          # rows searched for the header row
MAX_PROBLEMS = 1000       # checking stops after this many problems: a sheet of garbage is refused early
SHOWN_CHARS = 40          # a value shown in a problem is cut to this many characters
TOTAL_ROW_WORDS = {"合计", "总计", "小计", "total", "sum"}
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")   # a character OOXML escapes (Alt+Enter's \r is _x000D_)
_UNITS = r"元|万元|人|人次|单|笔|件|个|次|分|分钟|秒|s|小时|天|%|‰|¥|rmb|yuan|单位"
_UNIT_SUFFIX = re.compile(r"\((?:单位:)?(?:" + _UNITS + r")\)$")      # 实际销售额(元): the name without it
_UNIT_CELL = re.compile(r"\(?(?:单位:)?(?:" + _UNITS + r")\)?|\(.{1,4}\)")
# labels of rows that are no agent's: totals and averages, signatures and notes under the table
_TOTAL_LABEL = re.compile(r".{0,12}?(合计|总计|小计|汇总|平均|平均值|均值|total|totals|subtotal|grandtotal|sum|average)"
                          r":?(\(.*\))?")
_SIGNATURE_LABEL = re.compile(r"(制表|制表人|审核|审核人|审批|审批人|复核|复核人|填表人|填报人|负责人|经办人|确认人|"
                              r"批准|批准人|核准|签字|签名|日期|制表日期|填表日期|填报日期|主管签字|主管签名|"
                              r"经理签字|经理签名|部门经理|备注|说明|注)(:.*)?")
_ASCII_LABEL = re.compile(r"total|sum|average", re.IGNORECASE)   # what an ASCII label holds (ids do not)
ERROR_VALUES = {"#N/A", "#DIV/0!", "#REF!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!",
                "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!"}
_LIBREOFFICE_ERROR = re.compile(r"Err:\d{3}")
_MONEY_MARKS = re.compile(r"^[¥￥]|元$")
_ACCOUNTING_ZERO = re.compile(r"[¥￥]\s*-")   # Excel's 会计专用 format shows 0 as "¥-", and a CSV keeps what it shows
_SCIENTIFIC = re.compile(r"[+-]?\d(\.\d+)?E[+-]\d{2,3}", re.IGNORECASE)  # 1.45E+05: how Excel shows a long number
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")   # 1,200 and 12,345,678.9: Excel's thousands


class Grid(NamedTuple):
    """A file's cells as read: ``rows`` yields (row number, tuple of values).

    where(row, col) names a cell for people: ``填报表!C5`` (col counts from 0),
    or the whole row, ``填报表!5:5``, when col is None. ``formula(row, col)``
    gives the formula of a cell that holds one (xlsx only), so an empty cached
    value can be told apart from an empty cell; ``text_cells`` says whether the
    format stores numbers as numbers (xlsx) or everything as text (csv).
    ``size``: the last row number the file declares (an xlsx sheet's dimension),
    to show progress by; None when unknown. ``place``: the sheet read (xlsx), where a
    problem of the whole sheet is located; ``hidden``: the numbers of hidden rows;
    ``notices``: what the reader tells the supervisor (which sheet it read).
    """

    source: str
    rows: Iterable[tuple[int, Sequence[object]]]
    where: Callable[[int, int | None], str]
    formula: Callable[[int, int], str | None] = lambda row, col: None
    typed: bool = False
    size: int | None = None
    place: str = ""
    hidden: frozenset[int] = frozenset()
    notices: tuple[InputProblem, ...] = ()
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
        return InputProblem(_cut(self.who), field_id, self.where(field_id), shown, code, params)


def parse(grid: Grid, ruleset: rules.Ruleset) -> Parsed:
    """Validate every row of ``grid``; return the agents, every problem and every notice."""
    columns, problems, rows = _find_header(iter(grid.rows), grid, ruleset)
    result = Parsed([], problems, list(grid.notices))
    if columns is None:
        return result
    seen: dict[str, tuple[str, str]] = {}
    plan = _plan(columns, ruleset) if grid.typed else None   # a CSV's cells are all text: none is usual
    for number, values in rows:
        if len(problems) >= MAX_PROBLEMS:  # stop reading: the rest would only add to a list nobody reads
            problems.append(InputProblem("", "", grid.where(number, None), "", "too_many_problems",
                                         (("count", str(len(problems))),)))
            break
        quick = None if plan is None else _quick_row(plan, number, values, grid)
        agent_id, agent = quick or _parse_row(number, values, columns, grid, ruleset, result)
        if agent_id:
            column = columns.by_field["agent_id"]
            where = grid.where(number, column)
            typed = _shown(values[column]) if column < len(values) else agent_id
            _check_unique(agent_id, typed, seen, where, problems)
            if number in grid.hidden:
                result.notices.append(InputProblem(agent_id, "", where, agent_id, "hidden_row",
                                                   (("agent", agent_id), ("row", str(number)))))
        if agent is not None:
            result.agents.append(agent)
    if not result.agents and not problems:
        problems.append(InputProblem("", "", grid.place or grid.source, "", "no_rows"))
    return result


# ------------------------------------------------------------------ header
def normalise_header(text: object) -> str:
    """Header text folded for matching: NFKC, no spaces and no invisible format characters
    (a byte-order mark carried into the first cell by a converted CSV, zero-width spaces
    copied from a web page), lower case."""
    return _UNSEEN.sub("", unicodedata.normalize("NFKC", str(text or ""))).lower()


_UNSEEN = re.compile("[\\s\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]+")


def header_names(ruleset: rules.Ruleset) -> dict[str, str]:
    """Every accepted header (folded) → field id."""
    names = {}
    for f in ruleset.fields:
        for name in (f.id, f.label.zh, f.label.en, *f.aliases):
            names[normalise_header(name)] = f.id
    return names


def header_test(ruleset: rules.Ruleset) -> Callable[[Sequence[object]], bool]:
    """``test(row)``: whether a row of cells is a header row (names at least two fields);
    the reader uses it to find the sheet, and the separator of a CSV, that holds the table."""
    names = {name: field for name, field in header_names(ruleset).items()   # a 备注 column is no sign of a table
             if ruleset.field(field) is None or ruleset.field(field).comment_for is None}
    return lambda values: len(_matched(values, names)) >= 2


def _matched(values: Sequence[object], names: dict[str, str]) -> list[tuple[int, str]]:
    """(column, field) of each header cell of ``values`` that names a field."""
    found = []
    for index, value in enumerate(values):
        if isinstance(value, str):
            text = normalise_header(_ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), value))
            field_id = names.get(text) or names.get(_UNIT_SUFFIX.sub("", text))
            if field_id:
                found.append((index, field_id))
    return found


def _find_header(rows, grid: Grid, ruleset: rules.Ruleset):
    """(columns, problems, the rows after the header): the header is the first row naming
    two fields, with the row below it when that one names more (a header over two rows,
    e.g. 工号 merged down over both and the items under a group row 定量指标), followed
    by any units row (``(元)``, ``(人)``), which is skipped."""
    names = header_names(ruleset)
    for number, values in rows:
        matched = _matched(values, names)
        if len(matched) >= 2:
            after = next(rows, None)
            if after is not None:
                below = _matched(after[1], names)
                fields, columns = {f for _, f in matched}, {i for i, _ in matched}
                added = [(i, f) for i, f in below if i not in columns and f not in fields]
                if added and all((i, f) in matched or i not in columns for i, f in below):
                    number, matched, after = after[0], matched + added, next(rows, None)
            while after is not None and _is_units_row(after[1]):
                after = next(rows, None)
            rest = itertools.chain([after], rows) if after is not None else rows
            columns, problems = _map_columns(number, matched, grid, ruleset)
            return columns, problems, rest
        if number >= HEADER_SCAN:
            break
    location = f"{grid.place}!1:{HEADER_SCAN}" if grid.place else grid.source
    return None, [InputProblem("", "", location, "", "no_header",
                               (("examples", "、".join(f.label.zh for f in ruleset.fields[:4])),))], rows


def _is_units_row(values: Sequence[object]) -> bool:
    """A row under the header that only gives units: ``(元)``, ``（人）``, ``单位:元``."""
    cells = [v for v in values if not _blank(v)]
    return bool(cells) and all(isinstance(v, str) and _UNIT_CELL.fullmatch(normalise_header(v)) for v in cells)


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
    if all(_blank(v) for v in cells.values()) or _is_total_row(cells.get("agent_id"), cells.get("name")) or _is_other_row(values, cells, ruleset):
        return None, None
    row = _Row(number, cells, _text(cells.get("agent_id")) or _text(cells.get("name")), columns, grid)
    found = _unread_cells(row)
    parsed = {p.field: None for p in found}
    for f in ruleset.fields:
        if f.id in parsed:
            continue
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
    # a month's agents are all kept until scored: the values in a dict of their own size (the
    # parsed one, identity and comments popped, keeps the table of all 30 fields: 832 bytes
    # against 464), no empty comments dict of its own
    return identity["agent_id"], AgentInput(**identity, values=dict(parsed), origin=grid.where(number, 0),
                                            **({"comments": comments} if comments else {}))


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _is_total_row(agent_id: object, name: object) -> bool:
    """Whether a row's id or name cell says it totals the others (合计, 总计 …)."""
    return normalise_header(agent_id) in TOTAL_ROW_WORDS or normalise_header(name) in TOTAL_ROW_WORDS


def _is_other_row(values: Sequence[object], cells: dict, ruleset: rules.Ruleset) -> bool:
    """A row that is no agent's though it has cells: a total or average row (its label in any
    column, 序号 included, or merged over several), or a signature or note row under the
    table (制表人 / 审核人 / 日期, and no number in the item columns). A row with an agent
    id is an agent's, whatever else it holds."""
    agent_id = cells.get("agent_id")
    if not _blank(agent_id) and not _is_label(agent_id):
        return False
    labels = [normalise_header(v) for v in values if isinstance(v, str) and not _blank(v)]
    if any(_TOTAL_LABEL.fullmatch(label) for label in labels):
        return True
    return any(_SIGNATURE_LABEL.fullmatch(label) for label in labels) and not any(
        parse_number(cells.get(f.id)) is not None for f in ruleset.fields if f.type != "text" and f.id in cells)


def _is_label(value: object) -> bool:
    """Whether a cell holds a total, average, signature or note label (not an agent id)."""
    if not isinstance(value, str) or value.isascii() and not _ASCII_LABEL.search(value):
        return False
    text = normalise_header(value)
    return bool(_TOTAL_LABEL.fullmatch(text) or _SIGNATURE_LABEL.fullmatch(text))


def _unread_cells(row: _Row) -> list[InputProblem]:
    """The cells of the row that hold no value to read, in every column: an Excel error value
    (#N/A, #DIV/0! …) and a formula never calculated (an optional column's empty cell
    would otherwise mean "not given": a VLOOKUP in 上月销售额 is no "no base month")."""
    found = []
    for field_id, value in row.cells.items():
        text = value.__class__ is str
        if value is None or text and not value.strip():
            formula = row.grid.formula(row.number, row.columns.by_field[field_id])
            if formula:
                found.append(row.problem(field_id, "formula_no_value", value=formula))
        elif text and value.lstrip().startswith(("#", "Err:")) and _is_error_value(value):
            found.append(row.problem(field_id, "excel_error", ("error", value.strip())))
    return found


def _is_error_value(text: str) -> bool:
    """Excel's error values (also as text in a CSV), and LibreOffice's ``Err:502``."""
    text = text.strip()
    return text.upper() in ERROR_VALUES or bool(_LIBREOFFICE_ERROR.fullmatch(text))


def _text(value: object) -> str:
    """Identity text as typed: 1001.0 from Excel becomes '1001'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value) if abs(value) < 1e16 else value  # 1e308 stays 1e+308, not 309 digits
    return str(value).strip()


def _shown(value: object) -> str:
    return "" if value is None else _cut(_text(value))


def _cut(text: str) -> str:
    """``text`` cut to :data:`SHOWN_CHARS` characters for a message (a 100 MB cell stays in its file)."""
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


def _parse_cell(row: _Row, f: rules.InputField):
    """(parsed value, problem or None) for one cell of the row."""
    value = row.cells.get(f.id)
    if _blank(value):
        return None, (_empty_problem(row, f) if f.required else None)
    if f.type == "text":
        text = _text(value) if f.comment_for is None else str(value).strip()
        if f.max_length is not None and len(text) > f.max_length:
            if f.comment_for:
                return None, row.problem(f.id, "comment_too_long", ("max_length", f.max_length), ("length", len(text)),
                                         value=text[:12] + "…")
            return None, row.problem(f.id, "too_long", ("max", str(f.max_length)), ("length", str(len(text))))
        if f.comment_for is not None:
            return text, None
        if f.id == "agent_id" and _SCIENTIFIC.fullmatch(text):  # the id's own digits are gone
            return None, row.problem(f.id, "id_scientific")
        if f.id == "agent_id" and not text.strip("."):   # "." or "..": a placeholder, and no address can name it
            return None, row.problem(f.id, "id_dots")
        return (identity.fold(text) if f.id in identity.FOLDED_FIELDS else text), None
    number = parse_number(value, money=f.type == "money")
    if number is None:
        scientific = isinstance(value, str) and _SCIENTIFIC.fullmatch(unicodedata.normalize("NFKC", value).strip())
        return None, row.problem(f.id, "scientific" if scientific else "not_a_number")
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
    """An exact Decimal from a cell: a number, or text such as '1,200', '１２００', '¥3,000'.
    A comma must separate thousands: '1,23' or '1,5' (a decimal comma) is not read as 123 or 15."""
    if isinstance(value, (bool, datetime.date, datetime.time)):
        return None
    if isinstance(value, (int, float, Decimal)):
        number = _typed_number(value) if value and not isinstance(value, Decimal) else numbers.D(value)
        return number if number.is_finite() else None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if money:
        if _ACCOUNTING_ZERO.fullmatch(text):
            return Decimal(0)
        text = _MONEY_MARKS.sub("", text).strip()
    if "," in text:   # thousands separators only: 1,23 or 1,5 (a decimal comma) is no number, not 123 or 15
        if not _GROUPED.fullmatch(text):
            return None
        text = text.replace(",", "")
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):
        return None
    return Decimal(text)


def _check_bounds(f: rules.InputField, number: Decimal, problem) -> InputProblem | None:
    if f.type == "count" and number != number.to_integral_value():
        return problem("not_whole")
    if f.min is not None and (number <= f.min if f.min_exclusive else number < f.min):
        return problem("above_min" if f.min_exclusive else "at_least_min", ("min", numbers.plain(f.min)))
    if f.max is not None and number > f.max:  # a judgement column's maximum, or a field's sanity limit
        return problem("at_most_max" if f.increment is not None else "too_large", ("max", numbers.plain(f.max)))
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
            found.append(row.problem(f.id, "at_most_field", ("other", f.at_most), ("limit", numbers.short(limit))))
    return found


def _check_level(row: _Row, parsed: dict, ruleset: rules.Ruleset) -> list[InputProblem]:
    level = parsed.get("level")
    if level is None or ruleset.pay.level(level) is not None:
        return []
    known = "、".join(lv.id for lv in ruleset.pay.levels)
    return [row.problem("level", "unknown_level", ("known", known), value=level)]


def _check_unique(agent_id: str, typed: str, seen: dict[str, tuple[str, str]], where: str,
                  problems: list[InputProblem]) -> None:
    """A repeated id is refused; so is one that differs from an earlier id only by width or case
    (``ＫＦ１００３``, ``kf1003`` and ``KF1003``: :func:`kpi.core.identity.key`), a probable duplicate.
    ``typed``: the id as typed, shown in the message."""
    key = identity.key(agent_id)
    if key not in seen:
        seen[key] = (typed, where)
        return
    other, other_where = seen[key]
    code, params = ("duplicate_id", (("other", other_where),)) if other == typed else (
        "duplicate_id_case", (("other", other_where), ("other_id", other)))
    problems.append(InputProblem(agent_id, "agent_id", where, typed, code, params))


# ------------------------------------------------------------------ the usual row, quickly
# Nearly every row of a month is usual: ids and names as plain text, numbers typed as numbers
# within their bounds, optional cells empty. Such a row is read here, with what can be known of
# the sheet found once (the plan), at a fraction of the full path's cost; anything unusual in a
# row (text in a number column, an error value, a blank required cell, a bound broken …) sends
# the whole row to the full path, so every problem and notice is still made by the code above.
# The law (tests/test_inputs_quick.py): a row the quick path accepts, the full path reads into
# the same agent with no problem and no notice.
QUICK_MEMO = 1 << 12      # checked numbers remembered per column and cell type (judgement points repeat)


class _Slot(NamedTuple):
    """One field of the ruleset as the quick path reads it, its facts unpacked once (a row
    reads them for every cell).

    ``column``: its column in the sheet, None when the sheet has none; ``numeric``: a money,
    count or number field (else text); ``folded``: text kept as :func:`kpi.core.identity.fold`
    folds it; ``ints`` / ``floats``: a cell value of that type already checked → its Decimal
    (apart, since 1 == 1.0 but Decimal 1 and 1.0 differ)."""

    column: int | None
    numeric: bool
    required: bool
    max_length: int | None
    folded: bool
    ints: dict
    floats: dict
    field: rules.InputField


class _Plan(NamedTuple):
    """What the quick path needs of a sheet, found once: the slots in the ruleset's field
    order, the ``at_most`` relations as (slot, limit slot), the known levels, and where the
    agent's identity, values and comments come from (slot indexes) in the order the full path
    builds them (the ledger stores the values dict as JSON, keys in that order)."""

    slots: tuple[_Slot, ...]
    relations: tuple[tuple[int, int], ...]
    levels: frozenset[str]
    agent_column: int
    name_column: int | None
    level_slot: int | None
    identity: tuple[int | None, ...]           # agent_id, name, team, level; None: no such field ("")
    values: tuple[tuple[str, int], ...]        # (field id, slot)
    comments: tuple[tuple[str, int], ...]      # (comments key, slot)
    folds: dict                                # text not ASCII → identity.fold of it (teams repeat)


def _plan(columns: Columns, ruleset: rules.Ruleset) -> _Plan | None:
    """The :class:`_Plan` of a sheet whose header is ``columns``; None when the ruleset repeats
    a field id (the full path then keeps the first, which the plan does not model)."""
    fields = ruleset.fields
    index = {f.id: i for i, f in enumerate(fields)}
    if len(index) != len(fields) or "agent_id" not in columns.by_field:
        return None
    slots = tuple(_Slot(columns.by_field.get(f.id), f.type != "text", f.required, f.max_length,
                        f.type == "text" and f.comment_for is None and f.id in identity.FOLDED_FIELDS, {}, {}, f)
                  for f in fields)
    identity_ids = ("agent_id", "name", "team", "level")
    return _Plan(
        slots=slots,
        relations=tuple((i, index[f.at_most]) for i, f in enumerate(fields) if f.at_most and f.at_most in index),
        levels=frozenset(level.id for level in ruleset.pay.levels),
        agent_column=columns.by_field["agent_id"],
        name_column=columns.by_field.get("name"),
        level_slot=index.get("level"),
        identity=tuple(index.get(k) for k in identity_ids),
        values=tuple((f.id, i) for i, f in enumerate(fields) if f.id not in identity_ids and f.comment_for is None),
        comments=tuple(("comment" if f.comment_for == "month" else f.comment_for, i)
                       for i, f in enumerate(fields) if f.comment_for is not None and f.id not in identity_ids),
        folds={})


def _quick_row(plan: _Plan, number: int, values: Sequence[object], grid: Grid):
    """(agent id, AgentInput) of a usual agent's row, read as :func:`_parse_row` reads it; None
    for any other row (blank, total, a label, or anything that could make a problem or notice)."""
    width = len(values)
    agent = values[plan.agent_column] if plan.agent_column < width else None
    if agent.__class__ is not str or _is_label(agent) or _SCIENTIFIC.fullmatch(agent) or not agent.strip(". "):
        return None
    name = values[plan.name_column] if plan.name_column is not None and plan.name_column < width else None
    if _is_total_row(agent, name):
        return None
    got = []
    for column, numeric, required, max_length, folded, ints, floats, field in plan.slots:
        value = values[column] if column is not None and column < width else None
        kind = value.__class__
        if numeric:
            if kind is int or kind is float:
                memo = ints if kind is int else floats
                checked = memo.get(value)
                if checked is None:
                    checked = _checked_number(field, value)
                    if checked is None:
                        return None
                    if (value or kind is int) and len(memo) < QUICK_MEMO:   # 0.0 == -0.0: neither is kept
                        memo[value] = checked
                got.append(checked)
                continue
        elif kind is str:
            text = value.strip()
            if text:
                if text[0] == "#" or text.startswith("Err:"):    # maybe an error value
                    return None
                if max_length is not None and len(text) > max_length:
                    return None
                if folded and not text.isascii():   # ASCII is NFKC already: folding keeps it
                    text = _fold(plan.folds, text)
                got.append(text)
                continue
        if not (value is None or kind is str and not value.strip()):
            return None          # a number in a text column, a date, a bool, text in a number column …
        if required or column is not None and grid.formula(number, column):
            return None          # a blank that is a problem
        got.append(None)
    for i, j in plan.relations:
        if got[i] is not None and got[j] is not None and got[i] > got[j]:
            return None
    if plan.level_slot is not None and got[plan.level_slot] is not None and got[plan.level_slot] not in plan.levels:
        return None
    agent_id, name, team, level = ("" if i is None else got[i] for i in plan.identity)
    comments = {key: got[i] for key, i in plan.comments if got[i]}
    return agent_id, AgentInput(agent_id, name, team, level, {fid: got[i] for fid, i in plan.values},
                                grid.where(number, 0), **({"comments": comments} if comments else {}))


def _fold(folds: dict, text: str) -> str:
    """:func:`kpi.core.identity.fold` of ``text``, remembered in ``folds`` (up to QUICK_MEMO)."""
    kept = folds.get(text)
    if kept is None:
        kept = identity.fold(text)
        if len(folds) < QUICK_MEMO:
            folds[text] = kept
    return kept


def _checked_number(f: rules.InputField, value: int | float) -> Decimal | None:
    """The Decimal :func:`parse_number` reads from a number cell of ``f``, when it keeps every
    bound of ``f`` and, for money, has at most two decimals; else None (the full path says why)."""
    number = parse_number(value, money=f.type == "money")
    if number is None or _check_bounds(f, number, lambda *problem: problem) is not None:
        return None
    if f.type == "money" and number.as_tuple().exponent < -2:
        return None
    return number
