"""What kpi score writes: results.json, payroll, scorecards (one agent each)."""

from __future__ import annotations

import csv
import json
import re
import zipfile
from decimal import Decimal

import openpyxl
import pytest

from helpers import EXAMPLE_XLSX, results_of, ruleset
from kpi.pipeline import month

ITEMS = {"sales_completion", "sales_growth", "conversion", "featured_item", "refund_rate", "inquiries", "disputes",
         "personal_share", "response_time", "service_quality", "sales_skill", "product_exam", "operation_exam",
         "work_summary"}


@pytest.fixture(scope="module")
def results():
    return results_of(EXAMPLE_XLSX, ruleset())


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    out = tmp_path_factory.mktemp("month") / "2026-09"
    report = month.score(EXAMPLE_XLSX, ruleset(), out, "zh")
    return report, out


def test_results_json_shape(scored):
    report, out = scored
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert doc["period"] == "2026-09"
    assert doc["rules"] == {"weights_effective": "2020-01", "pay_bands_effective": "2020-01",
                            "sha256": report.ruleset.version.sha256}
    assert doc["input"]["file"] == "input-2026-09.xlsx" and len(doc["input"]["sha256"]) == 64
    assert len(doc["agents"]) == 25
    for agent in doc["agents"]:
        assert set(agent["points"]) == ITEMS and set(agent["explain"]) == ITEMS
        assert Decimal(str(agent["total"])) == sum(Decimal(str(v)) for v in agent["points"].values())
        assert re.fullmatch(r"\d+\.\d\d", agent["total_pay"])
        assert agent["level_change"] in {"+2", "+1|0", "0", "-1", "dismiss"}
    assert {a["level_change"] for a in doc["agents"]} == {"+2", "+1|0", "0", "-1", "dismiss"}


def test_json_explanations_render_the_records(scored):
    report, out = scored
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    first = doc["agents"][0]
    record = next(r for r in first["records"] if r["item"] == "sales_completion")
    assert record["tier_label"] in first["explain"]["sales_completion"]
    assert f"得 {record['points']} 分" in first["explain"]["sales_completion"]


def test_payroll_rows_and_totals_match_results(scored, results):
    report, out = scored
    sheet = openpyxl.load_workbook(out / "payroll-2026-09.xlsx", data_only=True).active
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    agents, total_row = rows[:-1], rows[-1]
    assert len(agents) == 25
    pays = {r[0]: Decimal(str(r[9])).quantize(Decimal("0.01")) for r in agents}
    assert pays == {r.agent.agent_id: r.pay.total_pay for r in results}
    assert total_row[0] == "合计"
    assert Decimal(str(total_row[9])).quantize(Decimal("0.01")) == sum(pays.values())
    assert sheet.cell(3, 10).value == "应发工资"


def test_payroll_csv_renders_the_same_rows(scored):
    report, out = scored
    with open(out / "payroll-2026-09.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:4] == ["工号", "姓名", "组别", "级别"]
    assert [r[9] for r in rows[1:-1]] == [f"{row.pay:.2f}" for row in report.rows]


def test_one_scorecard_per_agent_under_its_team(scored, results):
    report, out = scored
    for result in results:
        path = out / "scorecards" / result.agent.team / f"{result.agent.agent_id}-{result.agent.name}.xlsx"
        assert path.is_file()


def test_a_scorecard_holds_no_other_agents_data(scored, results):
    report, out = scored
    subject = results[3]
    path = out / "scorecards" / subject.agent.team / f"{subject.agent.agent_id}-{subject.agent.name}.xlsx"
    with zipfile.ZipFile(path) as archive:
        text = "".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    assert subject.agent.agent_id in text and subject.agent.name in text
    for other in results:
        if other is subject:
            continue
        assert other.agent.agent_id not in text, other.agent.agent_id
        assert other.agent.name not in text, other.agent.name
        sales = other.agent.values["sales_actual"]             # figures to the cent are each agent's own
        assert f"{sales:,.2f}" not in text and repr(float(sales)) not in text, other.agent.agent_id


def test_scorecard_shows_every_item_points_and_pay(scored, results):
    report, out = scored
    result = results[9]
    path = out / "scorecards" / result.agent.team / f"{result.agent.agent_id}-{result.agent.name}.xlsx"
    cells = [row for row in openpyxl.load_workbook(path, data_only=True).active.iter_rows(values_only=True)]
    by_label = {row[0]: row for row in cells if row[0]}
    for item in result.items:
        row = by_label[item.label.zh]
        assert Decimal(str(row[5])) == item.points and Decimal(str(row[4])) == item.weight
    assert Decimal(str(by_label["总分"][5])) == result.total
    assert Decimal(str(by_label["应发工资"][1])).quantize(Decimal("0.01")) == result.pay.total_pay
    assert f"= {result.pay.total_pay:,.2f}" in by_label["应发工资"][2]
    assert by_label["级别调整建议"][1] == result.pay.level_change.zh
    assert "确认 / 异议(请填写其一)" in by_label


def test_same_input_gives_identical_files(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    month.score(EXAMPLE_XLSX, ruleset(), first, "zh")
    month.score(EXAMPLE_XLSX, ruleset(), second, "zh")
    names = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_team_summary_has_a_sheet_per_team_band_colours_and_charts(scored, results):
    report, out = scored
    path = out / "team-summary-2026-09.xlsx"
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["售前一组", "售前二组"]
    sheet = book["售前一组"]
    headers = [c.value for c in sheet[2]]
    assert headers[:4] == ["工号", "姓名", "级别", "销售额完成率"] and headers[-3:] == ["总分", "得分档", "应发工资"]
    members = [r for r in results if r.agent.team == "售前一组"]
    assert [row[0] for row in sheet.iter_rows(min_row=3, max_row=2 + len(members), values_only=True)] == \
        sorted(r.agent.agent_id for r in members)
    formulas = [rule.formula[0] for rng in sheet.conditional_formatting for rule in rng.rules]
    assert formulas == ["$R3<50", "AND($R3>=50,$R3<60)", "AND($R3>=60,$R3<80)",
                        "AND($R3>=80,$R3<90)", "AND($R3>=90,$R3<100)", "$R3>=100"]
    with zipfile.ZipFile(path) as archive:
        charts = [n for n in archive.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == 6


def test_team_summary_points_lost_per_item(scored, results):
    report, out = scored
    sheet = openpyxl.load_workbook(out / "team-summary-2026-09.xlsx")["售前二组"]
    cells = {(c.row, c.column): c.value for row in sheet.iter_rows() for c in row if c.value is not None}
    header = next(pos for pos, v in cells.items() if v == "各项目失分合计")
    lost = {cells[(r, header[1])]: cells[(r, header[1] + 3)] for r in range(header[0] + 1, header[0] + 15)}
    members = [r for r in results if r.agent.team == "售前二组"]
    expected = sum((r.items[2].lost for r in members), Decimal(0))
    assert Decimal(str(lost["转化率"])) == expected and expected > 0


def test_team_summary_streamed_row_by_row_keeps_layout_and_helper_tables(scored, results):
    """The summary is written with constant memory (rows strictly in order): the header row's
    height, set before the rows, and the three helper tables side by side must all be there."""
    report, out = scored
    sheet = openpyxl.load_workbook(out / "team-summary-2026-09.xlsx")["售前一组"]
    assert sheet.row_dimensions[2].height == 48 and sheet.freeze_panes == "C3"
    cells = {(c.row, c.column): c.value for row in sheet.iter_rows() for c in row if c.value is not None}
    top = next(pos for pos, v in cells.items() if v == "总分分布(人数)")
    assert cells[(top[0], 6)] == "各得分档人数" and cells[(top[0], 11)] == "各项目失分合计"
    histogram = [cells.get((r, 4), 0) for r in range(top[0] + 1, top[0] + 12)]
    per_band = {cells[(r, 6)]: cells[(r, 9)] for r in range(top[0] + 1, top[0] + 7)}
    members = [r for r in results if r.agent.team == "售前一组"]
    assert sum(histogram) == len(members) == sum(per_band.values())
    labels = {index: band.label("zh") for index, band in enumerate(report.ruleset.pay.bands)}
    assert per_band == {label: sum(r.pay.band == index for r in members) for index, label in labels.items()}


def test_scorecards_are_protected_outside_the_confirmation_block_and_print_with_a_footer(scored, results):
    report, out = scored
    result = results[2]
    path = out / "scorecards" / result.agent.team / f"{result.agent.agent_id}-{result.agent.name}.xlsx"
    book = openpyxl.load_workbook(path)
    sheet = book.active
    assert sheet.protection.sheet
    open_cells = {c.coordinate for row in sheet.iter_rows() for c in row if not c.protection.locked}
    answer, reason = (next(iter(book.defined_names[n].destinations))[1].replace("$", "") for n in ("kpi_answer", "kpi_reason"))
    assert {answer, reason} <= open_cells
    assert all(cell[1:] in (answer[1:], reason[1:], str(int(answer[1:]) + 2)) for cell in open_cells)
    assert sheet.page_setup.paperSize == 9 and sheet.page_setup.orientation == "portrait"
    assert "2026-09" in sheet.oddFooter.left.text and "&P" in sheet.oddFooter.right.text


def test_payroll_and_summary_print_fitted_to_width_with_repeated_headers(scored):
    report, out = scored
    for name, header_rows in (("payroll-2026-09.xlsx", "$3:$3"), ("team-summary-2026-09.xlsx", "$2:$2")):
        sheet = openpyxl.load_workbook(out / name).worksheets[0]
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.page_setup.fitToWidth in (None, 1) and sheet.page_setup.fitToHeight == 0   # 1 is the default
        assert sheet.print_title_rows == header_rows


def _per_cell_worksheet():
    """xlsxwriter's own worksheet, taking kpi's whole rows one cell at a time through its
    public calls: the reference kpi's worksheet must match byte for byte."""
    import xlsxwriter.worksheet

    from kpi.io.writers import workbook as xlsx

    each = xlsx.Worksheet._write_each

    class PerCell(xlsxwriter.worksheet.Worksheet):
        reused = None
        write_cells = each

        def write_values(self, row, layout, values):
            each(self, row, zip(layout.columns, values, layout.formats))

    return PerCell


def test_kpi_worksheet_gives_the_bytes_xlsxwriter_writes_cell_by_cell(scored, results, tmp_path, monkeypatch):
    """kpi's worksheet prepares its own formulas and renders whole rows itself
    (kpi.io.writers.workbook.Worksheet); the payroll, the team summary and a scorecard must be
    the bytes xlsxwriter's own worksheet writes, cell by cell."""
    from kpi.core import calendar, table
    from kpi.io.writers import payroll, scorecard, team_summary
    from kpi.io.writers import workbook as xlsx
    report, _ = scored
    rules_, line, rows = report.ruleset, calendar.for_rules(report.ruleset), table.payroll(results, "zh")

    def write(folder):
        folder.mkdir()
        payroll.write_xlsx(folder / "payroll.xlsx", rows, rules_, line, "zh")
        team_summary.write(folder / "summary.xlsx", rows, rules_, "en")
        scorecard.write(folder / "card.xlsx", results[4], rules_, line, "zh", 1)
        return [(folder / name).read_bytes() for name in ("payroll.xlsx", "summary.xlsx", "card.xlsx")]

    ours = write(tmp_path / "ours")
    monkeypatch.setattr(xlsx, "Worksheet", _per_cell_worksheet())
    assert write(tmp_path / "xlsxwriter") == ours
    from kpi.io.writers import packaging
    assert packaging._plain("=ROUND(ROUND(H4+I4*G4,6),2)") and packaging._plain("=AND($R3>=50,$R3<60)")
    assert not packaging._plain("=FILTER(A1:A9,B1:B9)") and not packaging._plain('=SUM(A1)&"x"')
    assert not packaging._plain("{=SUM(A1)}")


AWKWARD_TEXT = ["张伟", " leading", "trailing ", "tab\t", "a&b<c>\"d\"", "x_x0041_y", "bell\x07", "two\nlines",
                "", "\ufffe", "长" * 20000, "😀" * 17000, "=1+1", "http://example.com"]
AWKWARD_NUMBERS = [0.1, 1e-07, 123456789.125, -5.5, 3, 0.0, 1e20, 2 ** 53 + 1]


@pytest.mark.parametrize("fallback", [None, float("inf"), "=FILTER(A1:A2,B1:B2)"])
@pytest.mark.parametrize("whole", ["write_cells", "write_values"])
def test_whole_rows_are_the_bytes_of_cell_by_cell_writes(tmp_path, monkeypatch, fallback, whole):
    """Text that needs escaping, truncating or keeping its spaces, numbers of every size, kpi's
    formulas and cells without a format come out as xlsxwriter writes them one by one, as
    cells or as values of a layout; a row
    with a cell only xlsxwriter's own calls can write (a non-finite number, a formula it
    rewrites) goes through those calls."""
    from kpi.io.writers import workbook as xlsx

    def write(path):
        book = xlsx.new(path, "2026-09", "t", streaming=True)
        book.nan_inf_to_errors = True
        sheet, bold, money = book.add_worksheet("s"), book.add_format({"bold": True}), book.add_format({"num_format": "0.00"})
        sheet.set_column(3, 3, 10, money)
        sheet.write_string(0, 0, "head", bold)
        texts = [text for awkward in AWKWARD_TEXT for text in (awkward, "王芳 A-7")]
        for row, text in enumerate(texts, start=1):
            number = AWKWARD_NUMBERS[row % len(AWKWARD_NUMBERS)]
            formula = (xlsx.Formula("=ROUND(B%d*2,2)" % (row + 1), number * 2) if row % 3 else
                       xlsx.Formula("=AND(B{0}>=0,B{0}<1E+300)".format(row + 1), 1))
            cells = [(0, text, bold), (1, number, money), (2, formula, money),
                     (3, number, None if row % 4 == 1 else money), (5, text, None if row % 4 == 1 else bold)]
            if row == 4 and fallback is not None:
                cells.append((6, xlsx.Formula(fallback, 0) if isinstance(fallback, str) else fallback, bold))
            if whole == "write_cells":
                sheet.write_cells(row, cells)
            else:
                columns, values, formats = zip(*cells)
                sheet.write_values(row, xlsx.Layout(columns, formats), values)
        sheet.write_string(len(texts) + 1, 0, "end", bold)
        book.close()
        return path.read_bytes()

    ours = write(tmp_path / "ours.xlsx")
    monkeypatch.setattr(xlsx, "Worksheet", _per_cell_worksheet())
    assert write(tmp_path / "per-cell.xlsx") == ours


def test_whole_rows_need_a_later_row_of_a_streamed_sheet(tmp_path):
    from kpi.io.writers import workbook as xlsx
    book = xlsx.new(tmp_path / "a.xlsx", "2026-09", "t", streaming=True)
    sheet = book.add_worksheet("s")
    sheet.write_cells(2, [(0, "x", None)])
    with pytest.raises(ValueError, match="row 2 must be a later row"):
        sheet.write_cells(2, [(1, "y", None)])
    with pytest.raises(ValueError, match="outside the sheet"):
        sheet.write_cells(3, [(0, "x", None), (20000, "y", None)])
    bold = book.add_format({"bold": True})
    with pytest.raises(ValueError, match="2 values for the 1 columns"):
        sheet.write_values(4, xlsx.Layout((0,), (bold,)), ["x", "y"])
    with pytest.raises(ValueError, match="row 2 must be a later row"):
        sheet.write_values(2, xlsx.Layout((0,), (bold,)), ["x"])
    book.close()
    memory = xlsx.new(tmp_path / "b.xlsx", "2026-09", "t").add_worksheet("s")
    with pytest.raises(ValueError, match="streamed sheet"):
        memory.write_cells(1, [(0, "x", None)])


def test_reused_package_parts_give_the_bytes_xlsxwriter_writes(scored, results, tmp_path):
    """Scorecards share rendered styles, theme and properties (kpi.io.writers.packaging); each must
    still be byte for byte the file xlsxwriter writes alone, whatever formats the agent's card uses."""
    from kpi.core import calendar, explain
    from kpi.io.writers import packaging, scorecard
    report, out = scored
    rules_, line = report.ruleset, calendar.for_rules(report.ruleset)
    no_loss = results[0]._replace(items=tuple(i._replace(points=i.weight) for i in results[0].items))
    for lang in ("zh", "en"):
        parts, explainer = packaging.Parts(), explain.Explainer(rules_, lang)
        for index, result in enumerate((*results, no_loss)):
            alone, shared = tmp_path / f"alone-{lang}-{index}.xlsx", tmp_path / f"shared-{lang}-{index}.xlsx"
            scorecard.write(alone, result, rules_, line, lang, 3)
            scorecard.write(shared, result, rules_, line, lang, 3, explainer, parts)
            assert shared.read_bytes() == alone.read_bytes(), (lang, result.agent.agent_id)
    with zipfile.ZipFile(tmp_path / "shared-zh-0.xlsx") as first, zipfile.ZipFile(tmp_path / f"shared-zh-{index}.xlsx") as last:
        assert first.read("xl/styles.xml") != last.read("xl/styles.xml")  # the no-loss card uses fewer formats


def test_written_workbooks_leave_nothing_for_the_garbage_collector(scored, results, tmp_path):
    """A month writes thousands of workbooks: each file's objects must be freed as soon as it is
    written (xlsxwriter's sheets and workbook refer to each other; kpi.io.writers.workbook.Workbook
    undoes that when closed), not wait in memory for the garbage collector, whose runs then walk them all."""
    import gc

    from kpi.core import calendar, explain, table
    from kpi.io.writers import packaging, payroll, scorecard, team_summary, template
    report, _ = scored
    rules_, line = report.ruleset, calendar.for_rules(report.ruleset)
    rows = [table.row(result, "zh") for result in results]
    parts, explainer = packaging.Parts(), explain.Explainer(rules_, "zh")
    writers = {
        "scorecard": lambda path: scorecard.write(path, results[0], rules_, line, "zh", 1),
        "scorecard, shared parts": lambda path: scorecard.write(path, results[1], rules_, line, "zh", 1, explainer, parts),
        "payroll": lambda path: payroll.write_xlsx(path, rows, rules_, line, "zh"),
        "team summary": lambda path: team_summary.write(path, rows, rules_, "en"),
        "template": lambda path: template.write(path, [result.agent for result in results], rules_, [], "zh"),
    }
    for name, write in writers.items():
        write(tmp_path / "warm-up.xlsx")  # caches filled once are not garbage
        gc.collect()
        gc.disable()
        try:
            write(tmp_path / f"{name}.xlsx")
            assert gc.collect() == 0, name
        finally:
            gc.enable()
