"""``team-summary-YYYY-MM.xlsx``: the supervisor's view of each team.

A sheet per team with every agent's item points, total, band and pay, rows
coloured by band (conditional formats built from the configured bands), and
three native Excel charts: the distribution of totals, agents per band and the
points the team lost per item (where it loses most).
"""

from __future__ import annotations

import collections
import math
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from xlsxwriter.utility import xl_rowcol_to_cell

from kpi.core import i18n, rules, table
from kpi.io import output, reuse
from kpi.io.writers import workbook as xlsx

BAND_COLOURS = ("#F8CBAD", "#FCE4D6", "#FFF2CC", "#DDEBF7", "#E2EFDA", "#C6EFCE", "#A9D08E")
HISTOGRAM_STEP = 10
HISTOGRAM_BINS = 30       # a chart of totals has at most this many bars
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


class Earlier(NamedTuple):
    """A team summary written before, unchanged since (its sheets' keys as :func:`write` gave them)."""

    path: Path
    keys: Sequence[str]

    def sheets(self, keys: Sequence[str]) -> dict[int, tuple[Path, str]]:
        """Sheet index → (file, part) holding its XML, for the sheets whose key is the same there."""
        return {index: (self.path, f"xl/worksheets/sheet{index + 1}.xml")
                for index in reuse.same_sheets(self.keys, keys)}


def write(path: Path, rows: Sequence[table.Row], ruleset: rules.Ruleset, lang: str,
          earlier: Earlier | None = None, seals: Mapping[str, bytes] | None = None) -> list[str]:
    """One sheet per team (teams in name order), from the month's payroll rows; returns each
    sheet's key (:func:`kpi.io.reuse.summary_sheet_key`, from the rows' ``seals`` where given). A sheet whose key
    ``earlier`` has too is taken from it: its agent rows, the bulk of the file, are not
    written again."""
    teams: dict[str, list[table.Row]] = {}
    for row in table.ordered(rows):
        teams.setdefault(row.team, []).append(row)
    used: set[str] = set()
    names = [sheet_name(team, used) for team in teams]
    keys = [reuse.summary_sheet_key(index, name, team, members, ruleset, lang, seals)
            for index, (name, (team, members)) in enumerate(zip(names, teams.items()))]
    reused = earlier.sheets(keys) if earlier is not None else {}
    if earlier is not None and len(reused) == len(keys) == len(earlier.keys):
        output.link(earlier.path, path)  # every sheet the same: so is the whole file
        return keys
    title = i18n.text("summary_file_title", lang, period=ruleset.period)
    workbook = xlsx.new(path, ruleset.period, title, streaming=True)
    formats = _formats(workbook, len(ruleset.pay.bands))
    for index, (name, (team, members)) in enumerate(zip(names, teams.items())):
        sheet = workbook.add_worksheet(name)
        sheet.reused = reused.get(index)
        _team_sheet(workbook, sheet, team, members, ruleset, lang, formats)
    workbook.close()
    return keys


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
    if sheet.reused is None:  # else the earlier XML has the rows; the rest sets up the other parts
        layout = _agent_layout(len(items), formats)
        for index, row in enumerate(members, start=2):
            _agent_row(sheet, index, row, layout)
    total_col = 3 + len(items)
    last = 1 + len(members)
    _band_colours(sheet, ruleset.pay.bands, 2, last, len(headers) - 1, total_col, formats)
    helper_row = last + 3
    _charts(workbook, sheet, members, ruleset, lang, helper_row, total_col, formats)


def _agent_layout(items: int, formats) -> xlsx.Layout:
    """An agent's row: id, name, level, the items' points, total, band, pay."""
    text = formats["text"]
    return xlsx.Layout(tuple(range(items + 6)), (text, text, text, *[formats["points"]] * items, formats["total"],
                                                  text, formats["money"]))


def _agent_row(sheet, index: int, row: table.Row, layout: xlsx.Layout) -> None:
    sheet.write_values(index, layout, [row.agent_id, row.name, row.level, *map(float, row.points), float(row.total),
                                       row.band, float(row.pay)])


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
    """Agents per range of totals: ranges of 10 points from 0 to at least 100, wider ranges
    (100, 1000 …) when the totals reach further, so there are never more than
    :data:`HISTOGRAM_BINS` of them however large a total is."""
    low_total = min(0, math.floor(min(r.total for r in members)))
    high_total = max(100, math.floor(max(r.total for r in members)))
    step = HISTOGRAM_STEP
    while (high_total - low_total) // step + 1 > HISTOGRAM_BINS:
        step *= 10
    first = low_total // step * step
    counts = collections.Counter((math.floor(r.total) - first) // step for r in members)
    bins = range(0, (high_total - first) // step + 1)
    return [(f"{first + i * step}–{first + (i + 1) * step}", counts[i]) for i in bins]


def _per_band(members, bands, lang: str) -> list[tuple[str, int]]:
    counts = collections.Counter(r.band_index for r in members)
    return [(band.label(lang), counts[index]) for index, band in reversed(list(enumerate(bands)))]


def _lost_per_item(members, items, lang: str) -> list[tuple[str, Decimal]]:
    sums = [sum(column, Decimal(0)) for column in zip(*(r.lost for r in members), strict=True)]
    lost = [(item.label(lang), sums[i]) for i, item in enumerate(items)]
    return sorted(lost, key=lambda pair: pair[1])


def _formats(workbook, band_count: int) -> dict:
    """The sheets' formats, their style numbers fixed here in this order (xlsxwriter would
    number them as cells first use them): a sheet taken from an earlier file refers to them."""
    add = workbook.add_format
    border = {"border": 1}
    formats = {
        "title": add({"bold": True, "font_size": 13}),
        "header": add({**border, "bold": True, "text_wrap": True, "bg_color": "#DDEBF7", "valign": "vcenter",
                       "align": "center"}),
        "text": add(border),
        "points": add({**border, "num_format": "0.##", "align": "center"}),
        "total": add({**border, "num_format": "0.##", "align": "center", "bold": True}),
        "money": add({**border, "num_format": "#,##0.00"}),
        "bands": [add({"bg_color": BAND_COLOURS[i % len(BAND_COLOURS)]}) for i in range(band_count)],
    }
    for name, cell in formats.items():
        if name != "bands":
            cell._get_xf_index()
    for band in formats["bands"]:
        band._get_dxf_index()
    return formats
