"""The what-if workbook: summary, per-agent table, items moved and native charts.

It renders :class:`kpi.core.whatif.Comparison` records only: the summary per month and in
total (payroll now and proposed, winners and losers, recommendations that change,
agents per band, average total per team), one row per agent and month (sortable and
filtered, frozen header, differences coloured), one row per item that moved with why
on both sides, and two xlsxwriter charts: agents per band now and proposed, and the
distribution of pay changes.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from kpi.core import i18n, numbers, whatif
from kpi.io.writers import workbook as xlsx

MONEY, POINTS, PERCENT = "#,##0.00", "0.##", "0.00%"


def write(path: Path, comparison: whatif.Comparison, proposal: str, lang: str) -> None:
    """The workbook at ``path`` (written whole: the caller stages it)."""
    periods = comparison.total.periods
    title = i18n.text("whatif_title", lang, proposal=proposal)
    book = xlsx.new(path, periods[0] if periods else "2000-01", title)
    formats = _formats(book)
    _summary(book.add_worksheet(i18n.text("whatif_sheet_summary", lang)), comparison, title, formats, lang)
    _agents(book.add_worksheet(i18n.text("whatif_sheet_agents", lang)), comparison, formats, lang)
    _items(book.add_worksheet(i18n.text("whatif_sheet_items", lang)), comparison, formats, lang)
    _charts(book, book.add_worksheet(i18n.text("whatif_sheet_charts", lang)), comparison, formats, lang)
    book.close()


def _formats(book) -> dict:
    return {"title": book.add_format({"bold": True, "font_size": 13}),
            "header": book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                                       "valign": "top"}),
            "money": book.add_format({"num_format": MONEY}), "points": book.add_format({"num_format": POINTS}),
            "percent": book.add_format({"num_format": PERCENT}), "text": book.add_format({"num_format": "@"}),
            "wrap": book.add_format({"text_wrap": True, "valign": "top"}),
            "total": book.add_format({"bold": True, "num_format": MONEY, "top": 1}),
            "total_text": book.add_format({"bold": True, "top": 1}),
            "up": book.add_format({"font_color": "#006100", "bg_color": "#C6EFCE"}),
            "down": book.add_format({"font_color": "#9C0006", "bg_color": "#FFC7CE"})}


def _n(value: Decimal) -> float:
    """A cell number (xlsxwriter writes floats; the figures are cents and half points, exact in a double)."""
    return float(value)


def _headers(sheet, row: int, keys: list[str], formats: dict, lang: str, widths: list[int]) -> None:
    for col, (key, width) in enumerate(zip(keys, widths)):
        sheet.write_string(row, col, i18n.text(key, lang), formats["header"])
        sheet.set_column(col, col, width)


def _summary(sheet, comparison: whatif.Comparison, title: str, formats: dict, lang: str) -> None:
    sheet.write_string(0, 0, title, formats["title"])
    keys = ["whatif_col_period", "whatif_col_revision", "whatif_col_agents", "whatif_col_pay_now",
            "whatif_col_pay_proposed", "whatif_col_difference", "whatif_col_percent", "whatif_col_winners",
            "whatif_col_losers", "whatif_col_unchanged", "whatif_col_level_changes"]
    _headers(sheet, 2, keys, formats, lang, [10, 8, 8, 14, 14, 12, 9, 8, 8, 8, 12])
    row = 3
    for period, revision, summary in comparison.months:
        _summary_row(sheet, row, period, revision, summary, formats, formats["money"])
        row += 1
    _summary_row(sheet, row, i18n.text("whatif_total_row", lang), "", comparison.total, formats, formats["total"])
    sheet.conditional_format(3, 5, row, 5, {"type": "cell", "criteria": ">", "value": 0, "format": formats["up"]})
    sheet.conditional_format(3, 5, row, 5, {"type": "cell", "criteria": "<", "value": 0, "format": formats["down"]})
    row += 2
    _headers(sheet, row, ["whatif_col_band", "whatif_col_now", "whatif_col_proposed"], formats, lang, [10, 8, 8])
    for band in comparison.total.bands:
        row += 1
        sheet.write_string(row, 0, band.label[lang])
        sheet.write_number(row, 1, band.now)
        sheet.write_number(row, 2, band.proposed)
    if comparison.total.level_moves:
        row += 2
        _headers(sheet, row, ["whatif_col_level_now", "whatif_col_level_proposed", "whatif_col_agents"],
                 formats, lang, [18, 18, 8])
        for move in comparison.total.level_moves:
            row += 1
            sheet.write_string(row, 0, move.now[lang])
            sheet.write_string(row, 1, move.proposed[lang])
            sheet.write_number(row, 2, move.agents)
    row += 2
    sheet.write_string(row, 0, i18n.text("whatif_teams_title", lang), formats["title"])
    row += 1
    _headers(sheet, row, ["whatif_col_team", "whatif_col_agents", "whatif_col_now", "whatif_col_proposed"],
             formats, lang, [10, 8, 8, 14])
    for team in comparison.total.teams:
        row += 1
        sheet.write_string(row, 0, team.team)
        sheet.write_number(row, 1, team.agents)
        sheet.write_number(row, 2, _n(team.now.quantize(Decimal("0.01"))), formats["points"])
        sheet.write_number(row, 3, _n(team.proposed.quantize(Decimal("0.01"))), formats["points"])
    sheet.set_column(0, 0, 18)


def _summary_row(sheet, row: int, period: str, revision, summary: whatif.Summary, formats: dict, money) -> None:
    text = formats["total_text"] if money is formats["total"] else None
    sheet.write_string(row, 0, period, text)
    if revision != "":
        sheet.write_number(row, 1, revision)
    else:
        sheet.write_blank(row, 1, None, text)
    sheet.write_number(row, 2, summary.agents, text)
    sheet.write_number(row, 3, _n(summary.pay_now), money)
    sheet.write_number(row, 4, _n(summary.pay_proposed), money)
    sheet.write_number(row, 5, _n(summary.difference), money)
    if summary.percent is None:
        sheet.write_blank(row, 6, None, formats["percent"])
    else:
        sheet.write_number(row, 6, _n((summary.percent / 100).quantize(Decimal("0.0001"))), formats["percent"])
    for col, value in enumerate((summary.winners, summary.losers, summary.unchanged, summary.level_changes), start=7):
        sheet.write_number(row, col, value, text)


AGENT_COLUMNS = ["whatif_col_period", "col_agent_id", "col_name", "col_team", "col_level", "whatif_col_total_now",
                 "whatif_col_total_proposed", "whatif_col_band_now", "whatif_col_band_proposed", "whatif_col_m_now",
                 "whatif_col_m_proposed", "whatif_col_pay_now", "whatif_col_pay_proposed", "whatif_col_difference",
                 "whatif_col_level_now", "whatif_col_level_proposed", "whatif_col_items"]


def _agents(sheet, comparison: whatif.Comparison, formats: dict, lang: str) -> None:
    """One row per agent and month: autofilter (sort and filter), frozen header, differences coloured."""
    widths = [9, 10, 10, 10, 6, 9, 9, 14, 14, 8, 8, 12, 12, 11, 16, 16, 30]
    _headers(sheet, 0, AGENT_COLUMNS, formats, lang, widths)
    for row, change in enumerate(comparison.agents, start=1):
        sheet.write_string(row, 0, change.period)
        for col, text in enumerate((change.agent_id, change.name, change.team, change.level), start=1):
            sheet.write_string(row, col, text)
        sheet.write_number(row, 5, _n(change.total_now), formats["points"])
        sheet.write_number(row, 6, _n(change.total_proposed), formats["points"])
        sheet.write_string(row, 7, change.band_now[lang])
        sheet.write_string(row, 8, change.band_proposed[lang])
        sheet.write_number(row, 9, _n(change.multiplier_now), formats["points"])
        sheet.write_number(row, 10, _n(change.multiplier_proposed), formats["points"])
        sheet.write_number(row, 11, _n(change.pay_now), formats["money"])
        sheet.write_number(row, 12, _n(change.pay_proposed), formats["money"])
        sheet.write_number(row, 13, _n(change.difference), formats["money"])
        sheet.write_string(row, 14, change.level_change_now[lang])
        sheet.write_string(row, 15, change.level_change_proposed[lang])
        sheet.write_string(row, 16, ", ".join(item.label[lang] for item in change.items))
    last = len(comparison.agents)
    sheet.freeze_panes(1, 2)
    sheet.autofilter(0, 0, max(last, 1), len(AGENT_COLUMNS) - 1)
    for col in (6, 10, 13):  # proposed total, multiplier and the difference: coloured by direction
        ref = {6: "F", 10: "J", 13: None}[col]
        if ref is None:
            up, down = {"type": "cell", "criteria": ">", "value": 0}, {"type": "cell", "criteria": "<", "value": 0}
        else:
            up = {"type": "formula", "criteria": f"=${chr(65 + col)}2>${ref}2"}
            down = {"type": "formula", "criteria": f"=${chr(65 + col)}2<${ref}2"}
        sheet.conditional_format(1, col, max(last, 1), col, {**up, "format": formats["up"]})
        sheet.conditional_format(1, col, max(last, 1), col, {**down, "format": formats["down"]})


def _items(sheet, comparison: whatif.Comparison, formats: dict, lang: str) -> None:
    """One row per item that moved, with the explanation of both sides."""
    keys = ["whatif_col_period", "col_agent_id", "col_name", "whatif_col_item", "whatif_col_points_now",
            "whatif_col_points_proposed", "whatif_col_why_now", "whatif_col_why_proposed"]
    _headers(sheet, 0, keys, formats, lang, [9, 10, 10, 14, 9, 9, 60, 60])
    row = 0
    for change in comparison.agents:
        for item in change.items:
            row += 1
            sheet.write_string(row, 0, change.period)
            sheet.write_string(row, 1, change.agent_id)
            sheet.write_string(row, 2, change.name)
            sheet.write_string(row, 3, item.label[lang])
            for col, points in ((4, item.points_now), (5, item.points_proposed)):
                if points is None:
                    sheet.write_blank(row, col, None)
                else:
                    sheet.write_number(row, col, _n(points), formats["points"])
            sheet.write_string(row, 6, item.why_now[lang], formats["wrap"])
            sheet.write_string(row, 7, item.why_proposed[lang], formats["wrap"])
    sheet.freeze_panes(1, 3)
    sheet.autofilter(0, 0, max(row, 1), len(keys) - 1)


def _charts(book, sheet, comparison: whatif.Comparison, formats: dict, lang: str) -> None:
    """The charts' data on their sheet, and the two native charts beside it."""
    name = sheet.get_name()
    bands = comparison.total.bands
    _headers(sheet, 0, ["whatif_col_band", "whatif_col_now", "whatif_col_proposed"], formats, lang, [16, 8, 8])
    for row, band in enumerate(bands, start=1):
        sheet.write_string(row, 0, band.label[lang])
        sheet.write_number(row, 1, band.now)
        sheet.write_number(row, 2, band.proposed)
    chart = book.add_chart({"type": "column"})
    for col, key in ((1, "whatif_col_now"), (2, "whatif_col_proposed")):
        chart.add_series({"name": i18n.text(key, lang), "categories": [name, 1, 0, len(bands), 0],
                          "values": [name, 1, col, len(bands), col]})
    chart.set_title({"name": i18n.text("whatif_chart_bands", lang)})
    chart.set_size({"width": 620, "height": 320})
    sheet.insert_chart(0, 4, chart)
    start = len(bands) + 3
    bins = whatif.histogram(comparison.agents)
    _headers(sheet, start, ["whatif_col_range", "whatif_col_agents"], formats, lang, [16, 8])
    for row, (low, high, count) in enumerate(bins, start=start + 1):
        sheet.write_string(row, 0, f"{numbers.money(low)} ~ {numbers.money(high)}")
        sheet.write_number(row, 1, count)
    histogram = book.add_chart({"type": "column"})
    histogram.add_series({"name": i18n.text("whatif_col_agents", lang),
                          "categories": [name, start + 1, 0, start + max(len(bins), 1), 0],
                          "values": [name, start + 1, 1, start + max(len(bins), 1), 1], "gap": 20})
    histogram.set_title({"name": i18n.text("whatif_chart_histogram", lang)})
    histogram.set_legend({"none": True})
    histogram.set_size({"width": 620, "height": 320})
    sheet.insert_chart(17, 4, histogram)
