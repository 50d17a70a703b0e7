"""``team-summary-YYYY-MM.xlsx``: the supervisor's view of each team.

A sheet per team with every agent's item points, total, band and pay, rows
coloured by band (conditional formats built from the configured bands), and
three native Excel charts: the distribution of totals, agents per band and the
points the team lost per item (where it loses most).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from xlsxwriter.utility import xl_rowcol_to_cell

from kpi import i18n, rules, table
from kpi.writers import workbook as xlsx

BAND_COLOURS = ("#F8CBAD", "#FCE4D6", "#FFF2CC", "#DDEBF7", "#E2EFDA", "#C6EFCE", "#A9D08E")
HISTOGRAM_STEP = 10
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def write(path: Path, rows: Sequence[table.Row], ruleset: rules.Ruleset, lang: str) -> None:
    """One sheet per team (teams in name order), from the month's payroll rows."""
    title = i18n.text("summary_file_title", lang, period=ruleset.period)
    workbook = xlsx.new(path, ruleset.period, title, streaming=True)
    formats = _formats(workbook, len(ruleset.pay.bands))
    teams: dict[str, list[table.Row]] = {}
    for row in table.ordered(rows):
        teams.setdefault(row.team, []).append(row)
    used: set[str] = set()
    for team, members in teams.items():
        sheet = workbook.add_worksheet(sheet_name(team, used))
        _team_sheet(workbook, sheet, team, members, ruleset, lang, formats)
    workbook.close()


def sheet_name(team: str, used: set[str]) -> str:
    """A valid, unique sheet name (31 characters, none of []:*?/\\)."""
    base = _BAD_SHEET_CHARS.sub("_", team).strip("'")[:28] or "_"
    name, number = base, 2
    while name.lower() in used:
        name, number = f"{base}~{number}", number + 1
    used.add(name.lower())
    return name


def _team_sheet(workbook, sheet, team: str, members, ruleset: rules.Ruleset, lang: str, formats) -> None:
    items = ruleset.weights.items
    headers = ([i18n.text(k, lang) for k in ("col_agent_id", "col_name", "col_level")]
               + [item.label(lang) for item in items]
               + [i18n.text(k, lang) for k in ("col_total", "col_band", "col_pay")])
    _layout(sheet, len(headers), len(items))  # first: a streamed sheet takes rows in order
    sheet.merge_range(0, 0, 0, len(headers) - 1, f"{team}  {i18n.text('summary_file_title', lang, period=ruleset.period)}",
                      formats["title"])
    sheet.write_row(1, 0, headers, formats["header"])
    for index, row in enumerate(members, start=2):
        _agent_row(sheet, index, row, formats)
    total_col = 3 + len(items)
    last = 1 + len(members)
    _band_colours(sheet, ruleset.pay.bands, 2, last, len(headers) - 1, total_col, formats)
    helper_row = last + 3
    _charts(workbook, sheet, members, ruleset, lang, helper_row, total_col, formats)


def _agent_row(sheet, index: int, row: table.Row, formats) -> None:
    sheet.write_row(index, 0, [row.agent_id, row.name, row.level], formats["text"])
    for col, points in enumerate(row.points, start=3):
        sheet.write_number(index, col, float(points), formats["points"])
    col = 3 + len(row.points)
    sheet.write_number(index, col, float(row.total), formats["total"])
    sheet.write_string(index, col + 1, row.band, formats["text"])
    sheet.write_number(index, col + 2, float(row.pay), formats["money"])


def band_formula(band: rules.Band, cell: str) -> str:
    """An Excel condition for ``cell`` lying in ``band``, honouring its inclusive ends."""
    parts = []
    if band.min is not None:
        parts.append(f"{cell}{'>=' if band.min_inclusive else '>'}{band.min}")
    if band.max is not None:
        parts.append(f"{cell}{'<=' if band.max_inclusive else '<'}{band.max}")
    return f"=AND({','.join(parts)})" if len(parts) > 1 else f"={parts[0]}"


def _band_colours(sheet, bands, first: int, last: int, last_col: int, total_col: int, formats) -> None:
    cell = xl_rowcol_to_cell(first, total_col, row_abs=False, col_abs=True)
    for index, band in enumerate(bands):
        sheet.conditional_format(first, 0, last, last_col, {
            "type": "formula", "criteria": band_formula(band, cell), "format": formats["bands"][index]})


def _layout(sheet, width: int, items: int) -> None:
    sheet.set_column(0, 2, 9)
    sheet.set_column(3, 2 + items, 6.5)
    sheet.set_column(3 + items, 3 + items, 7)
    sheet.set_column(4 + items, 5 + items, 14)
    sheet.set_row(1, 48)
    sheet.freeze_panes(2, 2)
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(1)


def _charts(workbook, sheet, members, ruleset: rules.Ruleset, lang: str, top: int, total_col: int, formats) -> None:
    """Helper tables side by side (totals histogram, agents per band, points lost per item),
    written row by row as a streamed sheet needs, and a chart of each."""
    sheet_ref = sheet.get_name()
    tables = (
        ("chart_distribution", _histogram(members)),
        ("chart_bands", _per_band(members, ruleset.pay.bands, lang)),
        ("chart_lost", _lost_per_item(members, ruleset.weights.items, lang)),
    )
    _helper_tables(sheet, tables, top, lang, formats)
    for index, (key, rows) in enumerate(tables):
        col = index * 5
        chart = workbook.add_chart({"type": "bar" if key == "chart_lost" else "column"})
        chart.add_series({"name": i18n.text(key, lang), "categories": [sheet_ref, top + 1, col, top + len(rows), col],
                          "values": [sheet_ref, top + 1, col + 3, top + len(rows), col + 3],
                          "data_labels": {"value": True}})
        chart.set_title({"name": i18n.text(key, lang), "name_font": {"size": 11}})
        chart.set_legend({"none": True})
        chart.set_size({"width": 420, "height": 300})
        sheet.insert_chart(top + 17, 0, chart, {"x_offset": index * 440, "y_offset": 10})


def _helper_tables(sheet, tables, top: int, lang: str, formats) -> None:
    """The tables side by side, five columns apart, written row by row (a streamed sheet
    takes its rows in order): a title, then a label and a value per line."""
    for offset in range(1 + max(len(rows) for _, rows in tables)):
        for index, (key, rows) in enumerate(tables):
            row, col = top + offset, index * 5
            if offset == 0:
                sheet.merge_range(row, col, row, col + 3, i18n.text(key, lang), formats["header"])
            elif offset <= len(rows):
                label, value = rows[offset - 1]
                sheet.merge_range(row, col, row, col + 2, label, formats["text"])
                sheet.write_number(row, col + 3, float(value), formats["points"])


def _histogram(members) -> list[tuple[str, int]]:
    top = max(int(r.total) for r in members) // HISTOGRAM_STEP * HISTOGRAM_STEP
    bins = range(0, max(top, 100) + HISTOGRAM_STEP, HISTOGRAM_STEP)
    return [(f"{low}–{low + HISTOGRAM_STEP}", sum(low <= r.total < low + HISTOGRAM_STEP for r in members))
            for low in bins]


def _per_band(members, bands, lang: str) -> list[tuple[str, int]]:
    return [(band.label(lang), sum(r.band_index == index for r in members))
            for index, band in reversed(list(enumerate(bands)))]


def _lost_per_item(members, items, lang: str) -> list[tuple[str, Decimal]]:
    lost = [(item.label(lang), sum((r.lost[i] for r in members), Decimal(0))) for i, item in enumerate(items)]
    return sorted(lost, key=lambda pair: pair[1])


def _formats(workbook, band_count: int) -> dict:
    add = workbook.add_format
    border = {"border": 1}
    return {
        "title": add({"bold": True, "font_size": 13}),
        "header": add({**border, "bold": True, "text_wrap": True, "bg_color": "#DDEBF7", "valign": "vcenter",
                       "align": "center"}),
        "text": add(border),
        "points": add({**border, "num_format": "0.##", "align": "center"}),
        "total": add({**border, "num_format": "0.##", "align": "center", "bold": True}),
        "money": add({**border, "num_format": "#,##0.00"}),
        "bands": [add({"bg_color": BAND_COLOURS[i % len(BAND_COLOURS)]}) for i in range(band_count)],
    }
