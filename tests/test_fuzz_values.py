"""No cell value reaches exit 70: any value in any column is read, scored and written, or refused."""

from __future__ import annotations

import datetime
import os

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cli
from helpers import example_rows, ruleset, write_xlsx
from kpi.core import explain, inputs, limits, scoring, table
from kpi.io.writers import team_summary

HEADER, *ROWS = example_rows()
RULES = ruleset()
EXAMPLES = int(os.environ.get("KPI_FUZZ_EXAMPLES", "60"))

value = st.one_of(
    st.none(), st.booleans(),
    st.integers(-10**30, 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 5e-324, 1e-25, 0.0, -0.0, 1e9, 1e8, 0.01, 1e15, 2**63, 1.5, 0.5]),
    st.text(max_size=20),
    st.sampled_from(["ＫＦ１００１", "kf1001", "Ｐ１", "售前１组", "1e308", "inf", "NaN", "９９９９", "¥1,000",
                     "0.0000001", "#N/A", "CON", "../x", "\x00", "王" * 60]),
    st.dates(), st.times(),
)


def _as_typed(row):
    """The example row with numbers as numbers, as a workbook holds them."""
    def typed(text):
        try:
            return float(text)
        except ValueError:
            return text
    return [typed(cell) for cell in row]


def _grid(rows):
    return inputs.Grid("填报表", list(enumerate(rows, start=1)), lambda r, c: f"填报表!{r}:{c}", typed=True)


@settings(max_examples=EXAMPLES * 5, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, len(HEADER) - 1), value), min_size=1, max_size=10))
def test_any_cell_values_are_parsed_scored_and_charted_or_refused(changes):
    rows = [_as_typed(row) for row in ROWS[:5]]
    for r, c, v in changes:
        rows[r][c] = v
    parsed = inputs.parse(_grid([HEADER, *rows]), RULES)
    if parsed.problems:
        assert all(len(p.value) <= inputs.SHOWN_CHARS + 1 for p in parsed.problems)
        return
    if limits.implausible(RULES, parsed.agents):
        return
    results = scoring.score_month(RULES, parsed.agents)
    explainer = explain.Explainer(RULES, "zh")
    rows_out = [table.row(result, "zh") for result in results]
    for result in results:
        explain.texts({"zh": explainer}, result)
    assert len(team_summary._histogram(rows_out)) <= team_summary.HISTOGRAM_BINS


@settings(max_examples=max(EXAMPLES // 4, 5), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, len(HEADER) - 1),
                          value.filter(lambda v: not isinstance(v, (datetime.date, datetime.time)))),
                min_size=1, max_size=4))
def test_any_cell_values_never_reach_an_internal_error_when_scored(tmp_path_factory, changes):
    folder = tmp_path_factory.mktemp("fuzz")
    rows = [_as_typed(row) for row in ROWS]
    for r, c, v in changes:
        rows[r][c] = v if not isinstance(v, float) or v == v and abs(v) != float("inf") else str(v)
    path = write_xlsx(folder / "in.xlsx", [HEADER, *rows])
    result = CliRunner().invoke(cli.main, ["score", str(path), "--period", "2026-09", "--out", str(folder / "o"),
                                           "--db", str(folder / "kpi.db"), "--jobs", "1"],
                                env={"KPI_LANG": None, "KPI_CONFIG": None})
    assert result.exit_code in (0, 1), result.output
    assert "内部错误" not in result.output and "Traceback" not in result.output
