"""One agent's scorecard workbook (考核表): only that agent's data.

Every item with its inputs, measured value, rule applied, weight, points and
points lost; the total, band, multiplier, the pay computation, the level
recommendation, and a confirmation block the agent fills in (确认 / 异议).
"""

from __future__ import annotations

from pathlib import Path

import wcwidth
from xlsxwriter.utility import xl_rowcol_to_cell

from kpi.core import calendar, explain, filenames, i18n, numbers, rules
from kpi.core import seal as sealing
from kpi.core.scoring import AgentResult
from kpi.io.writers import formulas, packaging
from kpi.io.writers import workbook as xlsx

ITEM_COLUMNS = ("col_item", "col_inputs", "col_rate", "col_rule", "col_weight", "col_points", "col_lost")
WIDTHS = (15, 30, 11, 34, 8, 7, 7)
LINE_HEIGHT = 15
NAMED_FIGURES = {"col_multiplier": "kpi_multiplier", "col_base_pay": "kpi_base_pay",
                 "col_performance_pay": "kpi_performance_pay"}


def relative_path(result: AgentResult) -> Path:
    """``scorecards/<team>/<agent_id>-<name>.xlsx`` relative to the output directory, made safe
    by :func:`kpi.core.filenames.card_path` (a month's cards are named together: ``filenames.card_paths``)."""
    agent = result.agent
    return Path(*filenames.card_path(agent.agent_id, agent.name, agent.team).parts)


def write(path: Path, result: AgentResult, ruleset: rules.Ruleset, line: calendar.Timeline, lang: str,
          revision: int | None = None, explainer: explain.Explainer | None = None,
          parts: packaging.Parts | None = None, sealer: sealing.Sealer | None = None) -> None:
    """Write the scorecard of ``result`` to ``path``; ``explainer`` and ``parts`` (package parts
    rendered once) are shared by the cards of a run; ``sealer`` seals it (:mod:`kpi.core.seal`:
    a card of a ledger revision carries its seal and a tag per cell in the hidden column H).

    Defined names (``kpi_agent_id``, ``kpi_period``, ``kpi_revision``,
    ``kpi_points_<item>``, ``kpi_total``, ``kpi_pay``, ``kpi_answer``,
    ``kpi_reason``) mark the cells ``kpi collect`` reads back.
    """
    title = i18n.text("scorecard_title", lang, period=ruleset.period)
    workbook = xlsx.new(path, ruleset.period, title, parts)
    sheet = _Recording(workbook.add_worksheet(i18n.text("scorecard_sheet", lang)))
    fmt = _formats(workbook)
    for col, width in enumerate(WIDTHS):
        sheet.set_column(col, col, width)
    sheet.merge_range(0, 0, 0, len(WIDTHS) - 1, title, fmt["title"])
    names: dict[str, tuple[int, int]] = {}
    row = _identity(sheet, 2, result, lang, fmt, names)
    row = _items(sheet, row + 1, result, explainer or explain.Explainer(ruleset, lang), fmt, names)
    row = _comment(sheet, row, result, lang, fmt)
    row = _result(sheet, row + 1, result, lang, fmt, names)
    row = _confirmation(sheet, row + 1, line, lang, fmt, names)
    version = xlsx.version_text(ruleset, lang)
    if revision is not None:
        version += "  " + i18n.text("revision_text", lang, revision=revision)
    sheet.write_string(row + 1, 0, version, fmt["note"])
    _define_names(workbook, sheet.get_name(), names, ruleset.period, revision)
    if sealer is not None and revision is not None:
        _seal(sheet, sealer, result, ruleset.period, revision, names)
    _print_setup(sheet, ruleset.period, lang)
    sheet.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})
    workbook.close()


class _Recording:
    """A worksheet that remembers what it was given to write (cell → kind, value), to seal it.

    The calls it passes on unchanged are the worksheet's own methods, bound once per card."""

    def __init__(self, sheet):
        self.sheet, self.cells = sheet, {}
        self._string, self._number = sheet.write_string, sheet.write_number
        self._formula, self._merge = sheet.write_formula, sheet.merge_range
        self.set_row, self.write_blank = sheet.set_row, sheet.write_blank

    def __getattr__(self, name):
        return getattr(self.sheet, name)

    def write_string(self, row, col, text, *args):
        self.cells[(row, col)] = ("s", text)
        return self._string(row, col, text, *args)

    def write_number(self, row, col, number, *args):
        self.cells[(row, col)] = ("n", number)
        return self._number(row, col, number, *args)

    def write_formula(self, row, col, formula, *args):
        self.cells[(row, col)] = ("f", formula)
        return self._formula(row, col, formula, *args)

    def merge_range(self, first_row, first_col, last_row, last_col, data, *args):
        if data != "":
            self.cells[(first_row, first_col)] = ("s", data)
        return self._merge(first_row, first_col, last_row, last_col, data, *args)


def _seal(sheet: _Recording, sealer: sealing.Sealer, result: AgentResult, period: str, revision: int,
          names: dict[str, tuple[int, int]]) -> None:
    """The seal in the hidden column H of the title row, each row's cell tags beside the row."""
    agent_id = result.agent.agent_id
    seal = sealing.card_seal(sealer.secret, agent_id, period, revision, sealer.fingerprint(result))
    roles = {place: name[4:] for name, place in names.items()}   # without "kpi_"
    cells = []
    for (row, col), (kind, value) in sorted(sheet.cells.items()):
        role = roles.get((row, col), "")
        cells.append((row, _COLUMNS[col], role, "slot" if role in sealing.SLOTS else kind, value))
    for role in sealing.SLOTS:   # the answer cells are empty when written: tagged as places
        row, col = names[f"kpi_{role}"]
        cells.append((row, _COLUMNS[col], role, "slot", ""))
    tags = sealing.CellTags(sealer.secret, seal).tags(
        (f"{column}{row + 1}", role, kind, value) for row, column, role, kind, value in cells)
    rows: dict[int, list[tuple[str, str, str]]] = {0: []}
    for (row, column, role, _, _), tag in zip(cells, tags):
        entry = (column, role, tag)
        if row in rows:
            rows[row].append(entry)
        else:
            rows[row] = [entry]
    write = sheet.sheet.write_string
    for row, entries in sorted(rows.items()):
        text = sealing.row_text(entries)
        if row == 0:   # the title row's cell starts with the claim
            text = sealing.claim(agent_id, period, revision, seal) + (" " + text if text else "")
        write(row, sealing.COLUMN, text)
    sheet.sheet.set_column(sealing.COLUMN, sealing.COLUMN, None, None, {"hidden": True})


_COLUMNS = tuple(xl_rowcol_to_cell(0, col)[:-1] for col in range(sealing.COLUMN))   # A … G: the card's columns


def _define_names(workbook, sheet_name: str, names: dict[str, tuple[int, int]], period: str, revision) -> None:
    for name, (row, col) in names.items():
        workbook.define_name(name, f"='{sheet_name}'!{xl_rowcol_to_cell(row, col, row_abs=True, col_abs=True)}")
    workbook.define_name("kpi_period", f'="{period}"')
    if revision is not None:
        workbook.define_name("kpi_revision", f"={revision}")


def _identity(sheet, row: int, result: AgentResult, lang: str, fmt, names) -> int:
    agent = result.agent
    pairs = (("col_agent_id", agent.agent_id), ("col_name", agent.name), ("col_team", agent.team),
             ("col_level", agent.level))
    for index, (key, value) in enumerate(pairs):
        r, c = row + index // 2, (index % 2) * 3
        sheet.write_string(r, c, i18n.text(key, lang), fmt["label"])
        sheet.merge_range(r, c + 1, r, c + 2, value, fmt["text"])
    names["kpi_agent_id"] = (row, 1)
    return row + 2


def _items(sheet, row: int, result: AgentResult, explainer: explain.Explainer, fmt, names) -> int:
    lang = explainer.lang
    for col, key in enumerate(ITEM_COLUMNS):
        sheet.write_string(row, col, i18n.text(key, lang), fmt["header"])
    row += 1
    for group in ("quantitative", "qualitative"):
        sheet.merge_range(row, 0, row, len(WIDTHS) - 1, i18n.text(f"group_{group}", lang), fmt["group"])
        row += 1
        for record in (r for r in result.items if r.group == group):
            _item_row(sheet, row, record, explainer, fmt, (result.agent.comments or {}).get(record.item_id, ""))
            names[f"kpi_points_{record.item_id}"] = (row, 5)
            row += 1
    sheet.write_string(row, 0, i18n.text("col_total", lang), fmt["label"])
    sheet.merge_range(row, 1, row, 4, "", fmt["text"])
    first, last = (names[f"kpi_points_{item.item_id}"] for item in (result.items[0], result.items[-1]))
    span = formulas.total(xl_rowcol_to_cell(*first), xl_rowcol_to_cell(*last))
    sheet.write_formula(row, 5, span, fmt["points_bold"], float(result.total))
    sheet.write_blank(row, 6, None, fmt["text"])
    names["kpi_total"] = (row, 5)
    return row + 1


def _comment(sheet, row: int, result: AgentResult, lang: str, fmt) -> int:
    """The supervisor's comment on the month (评语), under the items, when there is one."""
    text = result.agent.comments.get("comment", "") if result.agent.comments else ""
    if not text:
        return row
    sheet.write_string(row, 0, i18n.text("comment_label", lang), fmt["label"])
    sheet.merge_range(row, 1, row, len(WIDTHS) - 1, text, fmt["wrap"])
    sheet.set_row(row, LINE_HEIGHT * lines_needed(text, sum(WIDTHS[1:])))
    return row + 1


def _item_row(sheet, row: int, record, explainer: explain.Explainer, fmt, said: str = "") -> None:
    """One item's row; ``said``: the supervisor's comment on it, printed beside its inputs."""
    texts, height, numbers_ = _item_cells(record, explainer, said)
    wrap, points = fmt["wrap"], fmt["points"]
    for col, text in enumerate(texts):
        sheet.write_string(row, col, text, wrap)
    sheet.set_row(row, height)
    weight, got, lost = numbers_
    sheet.write_number(row, 4, weight, points)
    sheet.write_number(row, 5, got, points)
    sheet.write_number(row, 6, lost, fmt["lost"] if lost else points)


def _item_cells(record, explainer: explain.Explainer, said: str) -> tuple[tuple[str, ...], int, tuple[float, ...]]:
    """An item row's texts, height and numbers, rendered once per distinct record and comment
    (kept by the explainer, shared by the cards of a chunk: many agents' judgement items, and
    some of their rates, read the same)."""
    key = ("scorecard_row", record, said)
    kept = explainer.rendered.get(key)
    if kept is not None:
        return kept
    rule_text = explainer.rule(record) or explainer.points(record)
    inputs_text = explainer.inputs(record)
    if said:
        comment = i18n.text("item_comment", explainer.lang, text=said)
        inputs_text = f"{inputs_text}\n{comment}" if inputs_text else comment
    texts = (record.label(explainer.lang), inputs_text, explainer.measured(record), rule_text)
    height = LINE_HEIGHT * max(lines_needed(text, WIDTHS[col]) for col, text in enumerate(texts))
    kept = explainer.rendered[key] = (texts, height, (float(record.weight), float(record.points), float(record.lost)))
    return kept


def _result(sheet, row: int, result: AgentResult, lang: str, fmt, names) -> int:
    """Band, the pay figures as numbers, pay as a formula over them, the recommendation."""
    pay = result.pay
    explained = i18n.text("pay_formula", lang, base=numbers.grouped(pay.base_pay),
                          performance=numbers.grouped(pay.performance_pay), multiplier=numbers.plain(pay.multiplier),
                          pay=numbers.grouped(pay.total_pay), quantum=numbers.plain(pay.rounding.quantum))
    lines = (("col_band", None, pay.band_label(lang)), ("col_multiplier", pay.multiplier, ""),
             ("col_base_pay", pay.base_pay, i18n.text(f"pay_source_{pay.source}", lang)),
             ("col_performance_pay", pay.performance_pay, ""), ("col_pay", pay.total_pay, explained),
             ("col_level_change", None, pay.level_change(lang)))
    cell = {key: xl_rowcol_to_cell(row + offset, 1) for offset, (key, _, _) in enumerate(lines)}
    for offset, (key, number, text) in enumerate(lines):
        r = row + offset
        sheet.write_string(r, 0, i18n.text(key, lang), fmt["label"])
        first = 1 if number is None else 2
        if key == "col_pay":
            formula = formulas.pay(pay.rounding, cell["col_base_pay"], cell["col_performance_pay"], cell["col_multiplier"])
            sheet.write_formula(r, 1, formula, fmt["money_bold"], float(number)) if formula else \
                sheet.write_number(r, 1, float(number), fmt["money_bold"])
            names["kpi_pay"] = (r, 1)
        elif number is not None:
            sheet.write_number(r, 1, float(number), fmt["money" if key != "col_multiplier" else "plain"])
            names[NAMED_FIGURES[key]] = (r, 1)
        sheet.merge_range(r, first, r, len(WIDTHS) - 1, text, fmt["wrap"])
        sheet.set_row(r, LINE_HEIGHT * lines_needed(text, sum(WIDTHS[first:])))
    return row + len(lines)


def _confirmation(sheet, row: int, line: calendar.Timeline, lang: str, fmt, names) -> int:
    deadline = line.date("confirm_deadline")
    shown = deadline.isoformat() + (i18n.text("date_estimated", lang) if line.estimated(deadline) else "")
    title = f"{i18n.text('confirm_title', lang)}  {i18n.text('confirm_by', lang, date=shown)}"
    sheet.merge_range(row, 0, row, len(WIDTHS) - 1, title, fmt["group"])
    for offset, key in enumerate(("confirm_choice", "confirm_reason", "confirm_signature"), start=1):
        label = i18n.text(key, lang)
        sheet.write_string(row + offset, 0, label, fmt["label"])
        sheet.merge_range(row + offset, 1, row + offset, len(WIDTHS) - 1, "", fmt["input"])
        sheet.set_row(row + offset, max(LINE_HEIGHT * lines_needed(label, WIDTHS[0]), 45 if key == "confirm_reason" else 24))
    names["kpi_answer"], names["kpi_reason"] = (row + 1, 1), (row + 2, 1)
    choices = [i18n.text("answer_choice_confirm", lang), i18n.text("answer_choice_object", lang)]
    sheet.data_validation(row + 1, 1, row + 1, 1, {
        "validate": "list", "source": choices, "show_error": False,   # a variant typed by hand is still read
        "input_title": i18n.text("answer_choice_title", lang)[:32],
        "input_message": i18n.text("answer_choice_help", lang)[:255]})
    return row + 4


def lines_needed(text: str, width: float) -> int:
    """Lines ``text`` needs in a wrapped column ``width`` characters wide (CJK counts double)."""
    return max(1, -(-wcwidth.wcswidth(text) // max(1, int(width * 0.95))))


def _print_setup(sheet, period: str, lang: str) -> None:
    sheet.set_portrait()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 1)
    sheet.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    sheet.set_footer(f"&L{period}&C{i18n.text('generated_for', lang)}&R&P / &N")


def _formats(workbook) -> dict:
    border = {"border": 1, "valign": "vcenter"}
    add = workbook.add_format
    return {
        "title": add({"bold": True, "font_size": 14, "align": "center"}),
        "label": add({**border, "bold": True, "bg_color": "#F2F2F2", "text_wrap": True}),
        "text": add({**border}),
        "wrap": add({**border, "text_wrap": True}),
        "header": add({**border, "bold": True, "bg_color": "#DDEBF7", "align": "center", "text_wrap": True}),
        "group": add({**border, "bold": True, "bg_color": "#FFF2CC"}),
        "points": add({**border, "num_format": "0.##", "align": "center"}),
        "points_bold": add({**border, "num_format": "0.##", "align": "center", "bold": True}),
        "lost": add({**border, "num_format": "0.##", "align": "center", "font_color": "#C00000"}),
        "input": add({**border, "bg_color": "#FFFFE0", "locked": False, "text_wrap": True}),
        "money_bold": add({**border, "num_format": "#,##0.00", "bold": True}),
        "money": add({**border, "num_format": "#,##0.00"}),
        "plain": add({**border, "num_format": "0.0#"}),
        "note": add({"font_size": 8, "font_color": "#555555"}),
    }
