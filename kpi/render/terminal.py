"""Text for the terminal: the run summary, problems of every kind, the rules in force.

Each function returns lines; ``cli.py`` only echoes them. Every error kpi reports (input,
config, the ledger's refusals, returned cards refused) is a :class:`kpi.core.errors.Problem`,
put into words by one function, :func:`problem_lines`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import wcwidth

from kpi.core import calendar, explain, i18n, numbers, rules, scoring
from kpi.core.errors import CONFIG, INPUT, RETURNED, InputProblem, Problem
from kpi.pipeline.month import MonthReport


def pad(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal columns (a Chinese character takes two)."""
    return text + " " * max(0, width - wcwidth.wcswidth(text))


def summary(report: MonthReport, lang: str) -> list[str]:
    """Agents per band (highest first), total payroll, rules version, output folder."""
    ruleset, rows = report.ruleset, report.rows
    counts = Counter(row.band_index for row in rows)
    lines = notices(report.notices, ruleset, lang)
    lines.append(i18n.text("summary_title", lang, period=ruleset.period, count=len(rows)))
    for index in reversed(range(len(ruleset.pay.bands))):
        band = ruleset.pay.bands[index]
        lines.append(i18n.text("summary_band", lang, band=pad(band.label(lang), 18), count=counts.get(index, 0)))
    total = sum((row.pay for row in rows), numbers.ZERO)
    version = ruleset.version
    lines.append(i18n.text("summary_payroll", lang, total=numbers.grouped(total)))
    lines.append(i18n.text("summary_rules", lang, weights=version.weights_effective,
                           pay=version.pay_bands_effective, sha=version.sha256[:12]))
    lines.append(i18n.text("summary_written", lang, path=report.out_dir))
    return lines + timeline_warnings(report.timeline, lang)


def problem_lines(found: Sequence[Problem], lang: str, ruleset: rules.Ruleset | None = None,
                  header: bool | str = True, shown: int = 50) -> list[str]:
    """Every problem of ``found`` in words: the one way kpi shows what is wrong, whatever found it.

    By what the problems were found in (the source of the first):
    - input: a header with the count, then one indented line each (where, who, which field,
      what was typed, what is expected): the first ``shown``, then how many more, so a sheet
      of garbage prints a screenful; a check that stopped early (``too_many_problems``) says so last;
    - config: each fault (file: key: reason, then a correct example), the first after 配置错误:
    - ledger: each refusal's message; returned: 拒收 <card>:<why>.
    ``header=False`` leaves the header (input) or the 配置错误 prefix (config) out; a message key
    as ``header`` puts that header (with the count) above the problems, each indented (a proposal).
    ``ruleset`` names fields and items in the table's words (without one, by their ids)."""
    found = [p.problem if isinstance(p, InputProblem) else p for p in found]   # the readers' form, as the record
    if not found:
        return []
    if isinstance(header, str):
        return [i18n.text(header, lang, count=len(found))] + [
            "  " + line for problem in found for line in problem_text(problem, ruleset, lang)]
    if found[0].source == INPUT:
        stopped = [p for p in found[-1:] if p.code == "too_many_problems"]
        listed = found[:len(found) - len(stopped)]
        lines = [i18n.text("problems_header", lang, count=f"{len(listed):,}" + ("+" if stopped else ""))] if header else []
        for problem in listed[:shown]:
            lines.append("  " + problem_line(problem, ruleset, lang))
        if len(listed) > shown:
            lines.append(i18n.text("problems_more", lang, count=f"{len(listed) - shown:,}"))
        return lines + ["  " + problem_line(p, ruleset, lang) for p in stopped]
    lines = [line for problem in found for line in problem_text(problem, ruleset, lang)]
    if found[0].source == CONFIG and header:
        lines[0] = f"{i18n.text('config_error', lang)} {lines[0]}"
    return lines


def problems(found: Sequence[InputProblem], ruleset: rules.Ruleset | None, lang: str, shown: int = 50) -> list[str]:
    """Input problems with their header: :func:`problem_lines` (the name the tests and older callers use)."""
    return problem_lines(found, lang, ruleset, shown=shown)


def problem_text(problem: Problem, ruleset: rules.Ruleset | None, lang: str) -> list[str]:
    """One problem in words, as lines (a config fault is followed by its correct example)."""
    if problem.source == INPUT:
        return [problem_line(problem, ruleset, lang)]
    text = message(problem, ruleset, lang)
    if problem.source == RETURNED:
        text = i18n.text("collect_refused", lang, file=problem.location, message=text)
    if problem.hint:
        text += "\n" + i18n.text(problem.hint, lang, **dict(problem.hint_params))
    return text.split("\n")


def message(problem: Problem, ruleset: rules.Ruleset | None, lang: str) -> str:
    """What a problem says is wrong or expected, item and field ids named in the table's words."""
    params = {name: _param(name, value, ruleset, lang) for name, value in problem.params}
    return i18n.text(problem.code, lang, **params)


STATEMENTS = {"sheet_read"}   # notices said on a line of their own (which sheet was read), before the cells


def notices(found: Sequence[InputProblem], ruleset: rules.Ruleset, lang: str, per_kind: int = 5) -> list[str]:
    """How odd cells were read: up to ``per_kind`` lines of each kind, then a count; first
    the statements (which sheet of the workbook was read)."""
    said = [i18n.text(n.code, lang, **dict(n.params)) for n in found if n.code in STATEMENTS]
    found = [n for n in found if n.code not in STATEMENTS]
    if not found:
        return said
    lines, shown = [*said, i18n.text("notices_header", lang, count=len(found))], Counter()
    for notice in found:
        shown[notice.code] += 1
        if shown[notice.code] <= per_kind:
            lines.append("  " + problem_line(notice, ruleset, lang))
    for count in shown.values():
        if count > per_kind:
            lines.append(i18n.text("notices_more", lang, count=count - per_kind))
    return lines


def check_ok(parsed, ruleset: rules.Ruleset, lang: str) -> str:
    teams = len({agent.team for agent in parsed.agents})
    return i18n.text("check_ok", lang, count=len(parsed.agents), teams=teams, period=ruleset.period)


def problem_line(problem: InputProblem, ruleset: rules.Ruleset | None, lang: str) -> str:
    """An input problem on one line: where, who, which field, what was typed, what is expected."""
    expected = message(problem, ruleset, lang)
    agent = i18n.text("problem_agent", lang, agent=problem.agent) if problem.agent else ""
    field = _field_label(problem.field, ruleset, lang)
    if not problem.field:
        return f"{problem.location}  {expected}"
    value = (i18n.text("problem_value", lang, value=problem.value) if problem.value
             else i18n.text("problem_value_empty", lang))
    return i18n.text("problem_line", lang, location=problem.location, agent=agent, field=field,
                     value=value, expected=expected)


def _param(name: str, value: str, ruleset, lang: str) -> str:
    if name in ("item", "measure") and ruleset and value in {i.id for i in ruleset.weights.items}:
        item = ruleset.weights.item(value)
        return item.label(lang) if name == "item" else item.measure_label(lang)
    return _field_label(value, ruleset, lang) if name == "other" and ruleset and ruleset.field(value) else value


def _field_label(field_id: str, ruleset: rules.Ruleset | None, lang: str) -> str:
    f = ruleset.field(field_id) if ruleset and field_id else None
    return f"{f.label(lang)}" if f else field_id


def rulebook(ruleset: rules.Ruleset, lang: str, origin: bool = True) -> list[str]:
    """The table in force, readable by a supervisor, with the source of each reading; with
    ``origin`` the config directory it came from (not on sheets: no installation paths there)."""
    weights, pay, version = ruleset.weights, ruleset.pay, ruleset.version
    lines = [i18n.text("rules_title", lang, period=ruleset.period, title=weights.title(lang),
                       weights=version.weights_effective, pay=version.pay_bands_effective), ""]
    for group in ("quantitative", "qualitative"):
        lines.append(i18n.text(f"group_{group}", lang))
        for item in (i for i in weights.items if i.group == group):
            lines.extend(_item_lines(item, lang, weights))
        lines.append("")
    lines.extend(_pay_lines(pay, lang))
    if weights.plausible_total is not None:
        lines.append(i18n.text("rules_plausible", lang, total=numbers.plain(weights.plausible_total)))
    if origin:
        lines.append(i18n.text("rules_origin", lang, dir=version.config_dir))
    return lines


def _cap_lines(item: rules.TieredItem, weights: rules.WeightsVersion, lang: str) -> list[str]:
    """The item's cap, or, for an uncapped bonus, what it gives at +200 % (issue 22)."""
    if item.cap is not None:
        return [i18n.text("rules_capped", lang, cap=numbers.plain(item.cap))]
    if not scoring.uncapped(item) or item.measure.kind not in explain.RATE_KINDS:
        return []
    value = item.tiers[-1].step.anchor + 2      # +200 percentage points above the step's anchor
    return [i18n.text("rules_uncapped", lang, label=item.measure_label(lang), value=numbers.percent(value),
                      points=numbers.plain(scoring.points_at(weights, item, value)))]


def _item_lines(item: rules.Item, lang: str, weights: rules.WeightsVersion | None = None) -> list[str]:
    if item.kind == "judgement":
        head = i18n.text("rules_judgement", lang, label=item.label(lang), max=numbers.plain(item.max),
                         increment=numbers.plain(item.increment))
        lines = [f"  {head}" + (f" — {item.description(lang)}" if item.description else "")]
    else:
        lines = [f"  {i18n.text('rules_item', lang, label=item.label(lang), weight=numbers.plain(item.weight))}"]
        for tier in item.tiers:
            lines.append(f"    {pad(_bracket(item, tier, lang), 26)} {numbers.plain(tier.points):>3}  {tier.label(lang)}")
        if item.no_base:
            lines.append(i18n.text("rules_no_base", lang, label=item.no_base.label(lang),
                                   points=numbers.plain(item.no_base.points)))
        lines.extend(_cap_lines(item, weights, lang))
    if item.source:
        lines.append(i18n.text("rules_source", lang, source=item.source))
    if item.note:
        lines.append(i18n.text("rules_note", lang, note=item.note(lang)))
    return lines


def _bracket(item: rules.TieredItem, tier: rules.Tier, lang: str) -> str:
    if tier.min is None and tier.max is None:
        return i18n.text("rules_any", lang)
    return tier.describe(numbers.percent if item.measure.kind in explain.RATE_KINDS else numbers.plain)


def _pay_lines(pay: rules.PayVersion, lang: str) -> list[str]:
    lines = [i18n.text("rules_bands", lang, mode=i18n.text(f"rounding_{pay.rounding.mode}", lang),
                       quantum=numbers.plain(pay.rounding.quantum))]
    for band in reversed(pay.bands):
        lines.append(i18n.text("rules_band", lang, label=pad(band.label(lang), 18), multiplier=numbers.plain(band.multiplier),
                               change=band.level_change(lang)))
    if pay.note:
        lines.append(i18n.text("rules_note", lang, note=pay.note(lang)))
    lines += ["", i18n.text("rules_levels", lang)]
    for level in pay.levels:
        lines.append(i18n.text("rules_level", lang, id=level.id, label=level.label(lang),
                               base=numbers.grouped(level.base_pay), performance=numbers.grouped(level.performance_pay)))
    return lines + [""]


def weekday(day, lang: str) -> str:
    """Short weekday name: 周六 / Sat."""
    return i18n.text("weekdays", lang).split(",")[day.weekday()]


def day_text(day, lang: str) -> str:
    """``2026-10-10 周六``."""
    return f"{day.isoformat()} {weekday(day, lang)}"


def estimate_mark(line: calendar.Timeline, day, lang: str) -> str:
    """`` (预估)`` after a date counted on an estimated calendar, else nothing."""
    return i18n.text("date_estimated", lang) if line.estimated(day) else ""


def timeline(line: calendar.Timeline, lang: str) -> list[str]:
    """The month's review steps with their dates, one per line (estimates marked 预估), then
    where each year's statutory dates came from."""
    lines = [i18n.text("timeline_title", lang, period=line.period)]
    for step in line.steps:
        key = "timeline_before" if step.working_day < 0 else "timeline_after"
        when = pad(i18n.text(key, lang, n=abs(step.working_day)), 30)
        lines.append(f"  {day_text(step.date, lang)}{estimate_mark(line, step.date, lang)}  {when} {step.label(lang)}")
    return lines + timeline_sources(line, lang)


def timeline_sources(line: calendar.Timeline, lang: str) -> list[str]:
    """One line per year: which source its statutory dates came from."""
    return [i18n.text(f"timeline_source_{kind}", lang, year=year, what=what) for year, kind, what in line.sources]


def timeline_warnings(line: calendar.Timeline, lang: str) -> list[str]:
    """One warning when a year's dates are estimates."""
    if not line.unknown_years:
        return []
    return [i18n.text("timeline_unknown_year", lang, years=", ".join(map(str, line.unknown_years)))]


def timeline_json(line: calendar.Timeline) -> dict:
    """``{"period", <step id>: "YYYY-MM-DD", ..., "unknown_years", "estimated", "sources"}``:
    ``estimated`` lists the steps whose date is an estimate (预估), ``sources`` says per year
    where its statutory dates came from."""
    return {"period": line.period, **{step.id: step.date.isoformat() for step in line.steps},
            "unknown_years": list(line.unknown_years),
            "estimated": [step.id for step in line.steps if line.estimated(step.date)],
            "sources": {str(year): {"kind": kind, "source": what} for year, kind, what in line.sources}}


# ------------------------------------------------------------------ ledger and review
def recorded(report: MonthReport, db_path, lang: str) -> list[str]:
    """The ledger lines after scoring: the revision, and whose answers were cleared."""
    lines = [i18n.text("score_recorded", lang, period=report.ruleset.period, revision=report.revision, db=db_path)]
    if report.kept:
        lines.append(i18n.text("summary_kept", lang, written=len(report.rows) - report.kept, kept=report.kept))
    if report.cleared:
        lines.append(i18n.text("score_cleared", lang, agents=", ".join(report.cleared)))
    return lines


def collected(outcome, lang: str, ignored=(), unreadable: int = 0) -> list[str]:
    """What collecting did with each file: recorded, skipped (no answer), refused (why, counted
    with the ``unreadable`` files reported apart), ignored (files in a folder that are no scorecard)."""
    lines = []
    for given in outcome.recorded:
        reason = f"({given.reason})" if given.reason else ""
        lines.append(i18n.text("collect_recorded", lang, file=given.via, agent=given.agent_id,
                               answer=i18n.text(f"answer_{given.answer}", lang), reason=reason))
    lines += [i18n.text("collect_unanswered", lang, file=name) for name in outcome.unanswered]
    lines += problem_lines(outcome.refused, lang)     # the cards refused: Problems found in returned cards
    lines += [i18n.text("collect_ignored", lang, file=name, why=i18n.text(why, lang)) for name, why in ignored]
    summary = i18n.text("collect_summary", lang, recorded=len(outcome.recorded), unanswered=len(outcome.unanswered),
                        refused=len(outcome.refused) + unreadable)
    if ignored:
        summary += i18n.text("collect_summary_ignored", lang, ignored=len(ignored))
    lines.append(summary)
    return lines


def status_lines(period: str, revision: int, deadline, found, lang: str, mark: str = "") -> list[str]:
    """Per team: who confirmed, who objected (with reason and the manager's decision), who has
    not answered (overdue flagged)."""
    counts = Counter(s.state for s in found)
    title = i18n.text("status_title", lang, period=period, revision=revision, deadline=deadline.isoformat() + mark,
                      confirmed=counts["confirmed"], objected=counts["objected"],
                      unanswered=counts["unanswered"] + counts["overdue"])
    if counts["objection_rejected"] or counts["objection_upheld"]:
        title += i18n.text("status_title_decided", lang, rejected=counts["objection_rejected"],
                           upheld=counts["objection_upheld"])
    lines = [title]
    for team in sorted({s.team for s in found}):
        lines.append(i18n.text("status_team", lang, team=team))
        for s in (s for s in found if s.team == team):
            detail = f":{s.reason}" if s.reason else ""
            detail += i18n.text("status_overdue", lang) if s.overdue else ""
            detail += i18n.text("status_cleared", lang) if s.cleared_note else ""
            if s.decision:
                detail += i18n.text("status_decision", lang, who=s.decided_by, when=s.decided_at[:10],
                                    reason=s.decision_reason)
            state = "unanswered" if s.state == "overdue" else s.state   # the ⚠ says it is late
            lines.append(i18n.text("status_line", lang, agent=s.agent_id, name=pad(s.name, 8),
                                   state=i18n.text(f"state_{state}", lang), detail=detail))
    return lines


def closing_lines(listed, lang: str) -> list[str]:
    """What closing leaves behind (:class:`kpi.ledger.closing.Closing`), listed before the month closes."""
    def names(rows) -> str:
        return "、".join(f"{r.agent_id} {r.name}" + (f"({r.recommendation})" if hasattr(r, "recommendation") else "")
                        for r in rows) if lang == "zh" else ", ".join(
            f"{r.agent_id} {r.name}" + (f" ({r.recommendation})" if hasattr(r, "recommendation") else "") for r in rows)

    lines = [i18n.text("close_list_title", lang, period=listed.period, revision=listed.revision)]
    overdue = [s for s in listed.unanswered if s.overdue]
    waiting = [s for s in listed.unanswered if not s.overdue]
    for key, rows in (("close_list_unanswered", waiting), ("close_list_overdue", overdue),
                      ("close_list_changed", listed.changed), ("close_list_objections", listed.open_objections),
                      ("close_list_decided", listed.decided), ("close_list_pending", listed.pending_levels)):
        if rows and not (key == "close_list_overdue" and listed.policy == "allowed"):
            lines.append(i18n.text(key, lang, count=len(rows), agents=names(rows)))
    if len(lines) == 1:
        lines.append(i18n.text("close_list_none", lang))
    return lines


def close_lines(period: str, revision: int, path, moves: dict, names: dict[str, str], forced: str | None,
                lang: str) -> list[str]:
    lines = [i18n.text("close_done", lang, period=period, revision=revision, path=path)]
    if forced:
        lines.append(i18n.text("close_forced", lang, reason=forced))
    for agent_id, move in moves.items():
        if move.change or move.flag:
            flag = i18n.text(f"flag_{move.flag}", lang) if move.flag else ""
            lines.append(i18n.text("close_move", lang, agent=agent_id, name=names.get(agent_id, ""),
                                   level_from=move.level_from, level_to=move.level_to, flag=flag))
    return lines


def history_lines(agent_id: str, found, lang: str) -> list[str]:
    if not found:
        return [i18n.text("history_empty", lang, agent=agent_id)]
    lines = [i18n.text("history_title", lang, agent=agent_id), i18n.text("history_header", lang)]
    for line in found:
        lines.append(i18n.text("history_line", lang, period=line.period, revision=line.revision,
                               mark="*" if line.counting else " ", total=line.total,
                               band=pad(line.band_label[lang], 16), pay=line.pay, level=line.level,
                               state=i18n.text(f"state_{line.state}", lang)))
    return lines


def months_lines(rows, lang: str) -> list[str]:
    return [i18n.text("history_months", lang, period=r["period"], revision=r["revision"], agents=r["agents"],
                      when=r["scored_at"], who=r["scored_by"],
                      status=i18n.text("month_closed_word" if r["status"] == "closed" else "month_open", lang))
            for r in rows]


def show_lines(period: str, revision: int, row: dict, lang: str, labels: dict | None = None) -> list[str]:
    """One agent's stored result: every item in the table's order with its name (``labels``:
    item id → Label) and explanation, the supervisor's comments beside their items and on
    the month, then total, band, pay, recommendation."""
    result = row["result"]
    lines = [i18n.text("show_title", lang, period=period, revision=revision, agent=row["agent_id"], name=row["name"],
                       team=row["team"], level=row["level"])]
    texts = result["explain"][lang]
    said = row["inputs"].get("item_comments", {})
    for item_id in [i for i in result["points"] if i in texts] + [i for i in texts if i not in result["points"]]:
        label = (labels or {}).get(item_id)
        line = f"  {label(lang) if label else item_id}:{texts[item_id]}" if lang == "zh" else \
            f"  {label(lang) if label else item_id}: {texts[item_id]}"
        if said.get(item_id):
            line += i18n.text("explain_sep", lang) + i18n.text("item_comment", lang, text=said[item_id])
        lines.append(line)
    if row["inputs"].get("comment"):
        lines.append(i18n.text("show_comment", lang, text=row["inputs"]["comment"]))
    lines.append(i18n.text("show_total", lang, total=result["total"], band=result["band_label"][lang],
                           multiplier=result["multiplier"], pay=result["total_pay"],
                           change=result["level_change"][lang]))
    return lines


def sales_differs(differs, lang: str) -> list[str]:
    """The agents whose roster's 上月销售额 the ledger's closed month replaced (issue 22)."""
    if not differs:
        return []
    lines = [i18n.text("template_sales_differ_title", lang, count=len(differs), source=differs[0].source)]
    lines += [i18n.text("template_sales_differ", lang, agent=d.agent_id, name=d.name, roster=numbers.grouped(
        numbers.D(d.roster)), ledger=numbers.grouped(numbers.D(d.ledger))) for d in differs]
    return lines


def implausible_lines(found: Sequence[InputProblem], ruleset: rules.Ruleset, lang: str) -> list[str]:
    """Totals above the plausible bound, each with its row: a notice, the sheet may still be scored."""
    if not found:
        return []
    return [i18n.text("implausible_header", lang, count=len(found))] + [
        "  " + problem_line(notice, ruleset, lang) for notice in found]


# ------------------------------------------------------------------ issue 20: ledger checks
def verify_lines(report, db_path, lang: str) -> list[str]:
    """``kpi verify``: intact with the chain's length and head, or the first row changed or deleted."""
    if report.first is None:
        return [i18n.text("verify_ok", lang, path=db_path, links=report.links, head=report.head[:16])]
    lines = [i18n.text(f"verify_{found.what}", lang, path=db_path, table=found.table, row=found.key,
                       link=found.link, detail=found.detail) for found in report.shown]
    return lines + [i18n.text("verify_count", lang, count=report.count)]


# Control characters (C0, DEL, C1: ANSI and OSC sequences start with them) and the invisible
# format characters that reorder or hide text (bidi overrides and isolates, zero-width marks).
_INVISIBLE = [*range(0x00, 0x20), *range(0x7F, 0xA0), 0x061C, 0x180E, *range(0x200B, 0x2010),
              *range(0x202A, 0x202F), *range(0x2060, 0x2070), 0xFEFF, *range(0xFFF9, 0xFFFC)]
_ESCAPES = {code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" for code in _INVISIBLE}


def inert(text: str) -> str:
    """``text`` safe to print on a terminal: every control or invisible format character
    (ESC of ANSI/OSC sequences, C1, newlines inside a line, bidi overrides) shown escaped
    (``\\x1b``, ``\\u202e``), so names, teams and reasons can neither drive the terminal nor
    disguise a line."""
    return text.translate(_ESCAPES)
