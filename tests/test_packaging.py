"""kpi.io.writers.packaging is the one module that reaches into xlsxwriter's private API (shared
package parts, whole rows, kpi's own formula preparation, the workbook's cycle broken). Every
file it helps write must be the bytes plain xlsxwriter writes through its public calls: this
test fails at the first byte that differs, naming the part and the offset, so an xlsxwriter
release that changes those internals is caught before a user sees a different file."""

from __future__ import annotations

import io
import zipfile

import pytest
import xlsxwriter
import xlsxwriter.worksheet

from helpers import EXAMPLE_XLSX, results_of, ruleset
from kpi.core import calendar, explain, table
from kpi.io.writers import packaging, payroll, scorecard, team_summary
from kpi.io.writers import workbook as xlsx


class PlainWorksheet(xlsxwriter.worksheet.Worksheet):
    """xlsxwriter's own worksheet; kpi's whole rows go in cell by cell through its public calls."""

    reused = None
    write_cells = packaging.Worksheet._write_each

    def write_values(self, row, layout, values):
        self.write_cells(row, list(zip(layout.columns, values, layout.formats)))


def _plain_xlsxwriter(monkeypatch) -> None:
    """kpi's writers from now on use plain xlsxwriter: its workbook, its worksheet, no shared parts."""
    monkeypatch.setattr(xlsx, "Workbook", xlsxwriter.Workbook)
    monkeypatch.setattr(xlsx, "Worksheet", PlainWorksheet)
    monkeypatch.setattr(packaging, "SharingWorkbook", lambda path, options, parts: xlsxwriter.Workbook(path, options))


def first_difference(ours: bytes, plain: bytes) -> str | None:
    """Where two xlsx files first differ: the part and the byte offset in it; None if they are
    the same bytes."""
    if ours == plain:
        return None
    with zipfile.ZipFile(io.BytesIO(ours)) as a, zipfile.ZipFile(io.BytesIO(plain)) as b:
        if a.namelist() != b.namelist():
            return f"parts differ: {a.namelist()} != {b.namelist()}"
        for name in a.namelist():
            x, y = a.read(name), b.read(name)
            if x != y:
                at = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
                return f"{name} at byte {at}: {x[max(0, at - 40):at + 40]!r} != {y[max(0, at - 40):at + 40]!r}"
    return "the zip containers differ (member order, dates or compression)"


@pytest.fixture(scope="module")
def month_files():
    rules_ = ruleset()
    results = results_of(EXAMPLE_XLSX, rules_)
    no_loss = results[0]._replace(items=tuple(i._replace(points=i.weight) for i in results[0].items))
    return rules_, calendar.for_rules(rules_), [*results, no_loss]


def _write_all(folder, rules_, line, results) -> dict[str, bytes]:
    """A payroll, a team summary and every scorecard (sharing package parts) of the month."""
    folder.mkdir()
    rows = table.payroll(results, "zh")
    payroll.write_xlsx(folder / "payroll.xlsx", rows, rules_, line, "zh")
    team_summary.write(folder / "summary.xlsx", rows, rules_, "zh")
    parts, explainer = packaging.Parts(), explain.Explainer(rules_, "en")
    for index, result in enumerate(results):
        scorecard.write(folder / f"card-{index}.xlsx", result, rules_, line, "en", 2, explainer, parts)
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_every_file_is_the_bytes_plain_xlsxwriter_writes(month_files, tmp_path, monkeypatch):
    rules_, line, results = month_files
    ours = _write_all(tmp_path / "kpi", rules_, line, results)
    _plain_xlsxwriter(monkeypatch)
    plain = _write_all(tmp_path / "plain", rules_, line, results)
    assert ours.keys() == plain.keys() and len(ours) == len(results) + 2
    assert {name: first_difference(ours[name], plain[name]) for name in ours} == dict.fromkeys(ours)


def test_the_comparison_sees_a_single_byte(month_files, tmp_path):
    """The check above is not blind: one byte changed in one part is found, with its place."""
    rules_, line, results = month_files
    path = tmp_path / "card.xlsx"
    scorecard.write(path, results[0], rules_, line, "zh", 1)
    data = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    styles = parts["xl/styles.xml"]
    at = styles.index(b"<fonts") + 1
    parts["xl/styles.xml"] = styles[:at] + b"F" + styles[at + 1:]
    changed = io.BytesIO()
    with zipfile.ZipFile(changed, "w") as target:
        for name, value in parts.items():
            target.writestr(name, value)
    assert first_difference(changed.getvalue(), data).startswith(f"xl/styles.xml at byte {at}:")
    assert first_difference(data, data) is None
