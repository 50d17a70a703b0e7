"""No input, however broken, produces a traceback: a clean exit 1 with a message, or success."""

from __future__ import annotations

import io
import os
import zipfile

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cli
from helpers import EXAMPLE_XLSX, example_rows, write_csv, write_xlsx

ROWS = example_rows()
XLSX_BYTES = EXAMPLE_XLSX.read_bytes()
FUZZ = settings(max_examples=int(os.environ.get("KPI_FUZZ_EXAMPLES", "60")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

cell_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "-1", "1e9", "NaN", "inf", "１２", "¥", "1,2,3", "=SUM(A1)", "合计", "P9", "0.25",
                     "99999999999999999999999", "\x00", "3.", ".5", "+7"]),
)
cell_value = st.one_of(cell_text, st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False),
                       st.booleans(), st.none())
edits = st.lists(st.tuples(st.integers(0, len(ROWS) - 1), st.integers(0, len(ROWS[0]) - 1), cell_text), max_size=8)


def check(path):
    result = CliRunner().invoke(cli.main, ["check", str(path), "--period", "2026-09"],
                                env={"KPI_LANG": None, "KPI_CONFIG": None})
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 1:
        assert result.output.startswith("输入有 ")
    return result


def mutate(rows, changes, drop_column=None):
    rows = [list(row) for row in rows]
    for r, c, text in changes:
        rows[r][c] = text
    if drop_column is not None:
        rows = [row[:drop_column] + row[drop_column + 1:] for row in rows]
    return rows


@FUZZ
@given(changes=edits, drop=st.one_of(st.none(), st.integers(0, len(ROWS[0]) - 1)),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk", "utf-16"]))
def test_mutated_csv(tmp_path_factory, changes, drop, encoding):
    path = tmp_path_factory.mktemp("fuzz") / "in.csv"
    rows = mutate(ROWS, changes, drop)
    try:
        write_csv(path, rows, encoding=encoding)
    except UnicodeEncodeError:
        write_csv(path, rows, encoding="utf-8")
    check(path)


@FUZZ
@given(changes=st.lists(st.tuples(st.integers(0, len(ROWS) - 1), st.integers(0, len(ROWS[0]) - 1), cell_value),
                        max_size=8))
def test_mutated_xlsx_cells(tmp_path_factory, changes):
    rows = [list(row) for row in ROWS]
    for r, c, value in changes:
        rows[r][c] = value
    rows = [[v.replace("\x00", "") if isinstance(v, str) else v for v in row] for row in rows]
    check(write_xlsx(tmp_path_factory.mktemp("fuzz") / "in.xlsx", rows))


@FUZZ
@given(data=st.data())
def test_mutated_xlsx_bytes(tmp_path_factory, data):
    blob = bytearray(XLSX_BYTES)
    kind = data.draw(st.sampled_from(["truncate", "flip", "member"]))
    if kind == "truncate":
        blob = blob[:data.draw(st.integers(0, len(blob)))]
    elif kind == "flip":
        for _ in range(data.draw(st.integers(1, 20))):
            blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    else:
        blob = bytearray(_corrupt_member(data))
    path = tmp_path_factory.mktemp("fuzz") / "in.xlsx"
    path.write_bytes(bytes(blob))
    check(path)


def _corrupt_member(data) -> bytes:
    """Rewrite one XML part of the workbook with garbage or a cut-off copy."""
    source = zipfile.ZipFile(io.BytesIO(XLSX_BYTES))
    names = source.namelist()
    victim = data.draw(st.sampled_from(names))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in names:
            content = source.read(name)
            if name == victim:
                content = content[:data.draw(st.integers(0, len(content)))] + data.draw(st.binary(max_size=40))
            target.writestr(name, content)
    return out.getvalue()
