"""The quick path of :func:`kpi.core.inputs.parse` reads exactly what the full path reads.

The law: a row the quick path accepts, the full path reads into the same agent (the same
Decimals, exponent and sign included, the values in the same key order) with no problem and
no notice; and a whole sheet parsed with the quick path gives the same Parsed (agents,
problems, notices, in order) as with the full path alone."""

from __future__ import annotations

import datetime
import os
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from helpers import example_rows, ruleset
from kpi.core import inputs

RULES = ruleset()
NOTICE_RULES = type(RULES)(**{**{name: getattr(RULES, name) for name in type(RULES).model_fields},
                             "money_decimals": "notice"})
IDENTITY_RULES = RULES.with_fields(tuple(f for f in RULES.fields if f.id in ("agent_id", "name", "team")))
EXAMPLES = int(os.environ.get("KPI_FUZZ_EXAMPLES", "60"))

# the example month with an optional money column, the month's comment and an item's comment
_HEADER, *_ROWS = example_rows()
HEADER = [*_HEADER, RULES.field("base_pay").label.zh, RULES.field("comment").label.zh,
          RULES.field("response_time_comment").label.zh]


def _typed(text: str) -> object:
    """A cell of the example CSV as a workbook holds it: numbers as int or float."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


ROWS = [[_typed(cell) for cell in row] + [8000, "", None] for row in _ROWS]

usual = st.one_of(   # what a month's cells mostly hold
    st.integers(0, 500), st.sampled_from([0, 0.0, 0.5, 1.0, 1.5, 2, 7.5, 8, 8.0, 100.25, 3864, 117000.0]),
    st.floats(0, 1e6).map(lambda v: round(v, 2)), st.none(), st.just(""),
    st.sampled_from(["KF1001", "王芳", "售前一组", "P1", "P2", "很好", "KF 1002"]),
)
odd = st.one_of(     # what makes a problem or a notice, or must be read with care
    st.booleans(), st.dates(), st.times(), st.datetimes(),
    st.integers(-10**30, 10**30), st.sampled_from([10**8, 10**8 + 1, 10**9, 10**9 + 1, 10**6, -1, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-0.0, 0.0, 1e308, 5e-324, 1e-05, 0.1, 1000.005, 1000.125, 1e16, 1001.0, 0.25, 8.5, 3.0]),
    st.sampled_from(["#N/A", " #DIV/0! ", "Err:502", "#hashtag", "Err:", "1,200", "１２００", "¥3,000", "5.0",
                     "1000.005", " 7 ", "   ", "\t", "合计", "total", "Total", "to tal", "S U M", "\u200b", "小计:", "制表人:", "平均", "备注",
                     "ＫＦ１００１", "kf1001", "Ｐ１", "P9", "p1", "A\u200bB", "王" * 60, "x" * 201, "x" * 33,
                     "2.02301E+11", "1.45E+05", " ¥-  ", "-"]),
    st.text(max_size=12),
)
cell = st.one_of(usual, usual, odd)
change = st.tuples(st.integers(0, 5), st.integers(0, len(HEADER) - 1), cell)


def _grid(rows, hidden=frozenset(), formulas=frozenset()):
    """A workbook's grid (numbers typed) of ``rows`` under HEADER; ``formulas``: (row, col) of
    cells holding a formula never calculated."""
    return inputs.Grid("填报表", list(enumerate([HEADER, *rows], start=1)), lambda r, c: f"填报表!{r}:{c}",
                       formula=lambda r, c: "=VLOOKUP(A2,上月!A:B,2,0)" if (r, c) in formulas else None,
                       typed=True, hidden=frozenset(hidden))


def _exact(parsed: inputs.Parsed):
    """``parsed`` with every Decimal as its repr and every dict as its items in order: equal only
    when the same numbers were read with the same exponent and sign, in the same key order."""
    agents = [(a.agent_id, a.name, a.team, a.level, [(k, repr(v)) for k, v in a.values.items()], a.origin,
               list(a.filled.items()), list(a.comments.items())) for a in parsed.agents]
    return agents, parsed.problems, parsed.notices


def _full(grid, rules):
    """``parse`` with the quick path refusing every row: the full path alone."""
    with mock.patch.object(inputs, "_quick_row", lambda *args: None):
        return inputs.parse(grid, rules)


def _rows(changes, cut):
    rows = [list(row) for row in ROWS[:6]]
    for r, c, v in changes:
        rows[r][c] = v
    if cut is not None:   # a row shorter than the header (trailing cells never written)
        rows[cut[0]] = rows[cut[0]][:cut[1]]
    return rows


@settings(max_examples=EXAMPLES * 5, deadline=None)
@given(changes=st.lists(change, max_size=8), rules=st.sampled_from([RULES, NOTICE_RULES, IDENTITY_RULES]),
       hidden=st.sets(st.integers(2, 7), max_size=2), formulas=st.sets(st.tuples(st.integers(2, 7),
                                                                                 st.integers(0, len(HEADER) - 1)),
                                                                       max_size=3),
       cut=st.none() | st.tuples(st.integers(0, 5), st.integers(1, len(HEADER) - 1)))
def test_a_sheet_parses_the_same_with_and_without_the_quick_path(changes, rules, hidden, formulas, cut):
    grid = _grid(_rows(changes, cut), hidden, formulas)
    assert _exact(inputs.parse(grid, rules)) == _exact(_full(grid, rules))


@settings(max_examples=EXAMPLES * 5, deadline=None)
@given(changes=st.lists(change, max_size=8), rules=st.sampled_from([RULES, NOTICE_RULES, IDENTITY_RULES]),
       formulas=st.sets(st.tuples(st.integers(2, 7), st.integers(0, len(HEADER) - 1)), max_size=3),
       cut=st.none() | st.tuples(st.integers(0, 5), st.integers(1, len(HEADER) - 1)))
@example(changes=[(0, 0, "2.02301E+11")], rules=RULES, formulas=set(), cut=None)   # an id Excel showed so
@example(changes=[(0, 0, "..")], rules=RULES, formulas=set(), cut=None)
@example(changes=[(1, HEADER.index("上月销售额"), " ¥-  ")], rules=RULES, formulas=set(), cut=None)
def test_a_row_the_quick_path_accepts_the_full_path_reads_alike_without_problem_or_notice(changes, rules, formulas,
                                                                                         cut):
    grid = _grid(_rows(changes, cut), formulas=formulas)
    columns, problems, rows = inputs._find_header(iter(grid.rows), grid, rules)
    assert columns is not None and not problems
    plan = inputs._plan(columns, rules)
    for number, values in rows:
        quick = inputs._quick_row(plan, number, values, grid)
        if quick is None:
            continue
        result = inputs.Parsed([], [], [])
        full = inputs._parse_row(number, values, columns, grid, rules, result)
        assert not result.problems and not result.notices
        assert full[0] == quick[0]
        assert _exact(inputs.Parsed([full[1]], [], [])) == _exact(inputs.Parsed([quick[1]], [], []))


def test_the_usual_rows_take_the_quick_path():
    """The example month (numbers typed, one optional blank) is read by the quick path alone:
    without this the laws above would hold of a quick path that never accepts anything."""
    grid = _grid(ROWS)
    columns, _, rows = inputs._find_header(iter(grid.rows), grid, RULES)
    plan = inputs._plan(columns, RULES)
    accepted = [inputs._quick_row(plan, number, values, grid) for number, values in rows]
    assert all(accepted) and len(accepted) == len(ROWS)
    assert accepted[0][1].values["sales_actual"] == inputs.parse_number("145029.62")


@pytest.mark.parametrize("value, expected", [
    (5, "Decimal('5')"), (5.0, "Decimal('5.0')"), (-0.0, "Decimal('-0.0')"), (0, "Decimal('0')"),
    (0.0, "Decimal('0.0')"), (100.25, "Decimal('100.25')"),
])
def test_a_number_keeps_its_exponent_and_sign(value, expected):
    """5, 5.0 and -0.0 are read as typed (the ledger stores them as typed), quick path or not."""
    rows = [list(row) for row in ROWS[:1]]
    rows[0][HEADER.index("上月销售额")] = value
    quick, full = inputs.parse(_grid(rows), RULES), _full(_grid(rows), RULES)
    assert repr(quick.agents[0].values["sales_last_month"]) == expected
    assert _exact(quick) == _exact(full)


@pytest.mark.parametrize("value", [1000.005, float("nan"), float("inf"), 10**30, True, datetime.date(2026, 9, 1),
                                   "#N/A", "Err:502", "1,200", -1, 1e9 + 1])
def test_an_unusual_cell_is_left_to_the_full_path(value):
    """The quick path refuses the row of any cell that makes a problem or a notice."""
    rows = [list(row) for row in ROWS[:1]]
    rows[0][HEADER.index("实际销售额")] = value
    grid = _grid(rows)
    columns, _, body = inputs._find_header(iter(grid.rows), grid, NOTICE_RULES)
    number, values = next(iter(body))
    assert inputs._quick_row(inputs._plan(columns, NOTICE_RULES), number, values, grid) is None
    parsed = inputs.parse(grid, NOTICE_RULES)
    assert parsed.problems or parsed.notices
    assert _exact(parsed) == _exact(_full(grid, NOTICE_RULES))


@pytest.mark.parametrize("first, second", [(0.0, -0.0), (-0.0, 0.0), (1, 1.0), (1.0, 1), (5.0, 5), (0, 0.0)])
def test_equal_numbers_typed_apart_in_one_column_stay_apart(first, second):
    """The quick path remembers the numbers of a column it checked: 0.0 and -0.0, 1 and 1.0 are
    equal keys but different readings, and each row keeps its own."""
    rows = [list(row) for row in ROWS[:2]]
    column = HEADER.index("交易纠纷(因服务态度)")
    rows[0][column], rows[1][column] = first, second
    parsed = inputs.parse(_grid(rows), RULES)
    assert [repr(a.values["disputes"]) for a in parsed.agents] == [repr(inputs.parse_number(v)) for v in (first, second)]
    assert _exact(parsed) == _exact(_full(_grid(rows), RULES))


@pytest.mark.parametrize("column", ["工号", "姓名"])
@pytest.mark.parametrize("label", ["合计", "to tal", "S U M", "Total", "ｔｏｔａｌ", "小计:", "平均值", "制表人:", "备注",
                                   "sum(元)", "KF1001 ", "\u200b", "#N/A", "Err:502", "x" * 51])
def test_a_label_where_an_id_or_name_goes_is_read_as_by_the_full_path(column, label):
    """Totals, notes and signatures under the table, in the id or the name column: the quick path
    leaves them to the full path (which skips the row, or refuses it) or reads them alike."""
    rows = [list(row) for row in ROWS[:3]]
    rows[1][HEADER.index(column)] = label
    assert _exact(inputs.parse(_grid(rows), RULES)) == _exact(_full(_grid(rows), RULES))
