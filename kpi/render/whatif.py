"""The what-if records in words and as JSON: the terminal's summary, the document for systems,
and a proposal's differences from the rules in force (``kpi rules --diff``)."""

from __future__ import annotations

from decimal import Decimal

from kpi.core import i18n, numbers, rulediff, whatif
from kpi.render.terminal import pad

CENT = Decimal("0.01")


def signed(amount: Decimal) -> str:
    """Money with its sign and thousands separators: ``+1,020.00``, ``-30.00``, ``0.00``."""
    text = numbers.grouped(amount)
    return text if text.startswith("-") or not amount else "+" + text


def percent(value: Decimal | None) -> str:
    """A change in percent to two decimals with its sign, ``—`` when there is no base."""
    if value is None:
        return "—"
    text = format(value.quantize(CENT), "f")
    return text + "%" if text.startswith("-") or not value.quantize(CENT) else f"+{text}%"


def average(value: Decimal) -> str:
    return numbers.plain(value.quantize(CENT))


def lines(comparison: whatif.Comparison, proposal: str, lang: str) -> list[str]:
    """The summary for the terminal: per month and in total the payroll, then bands, teams,
    recommendations, winners and losers, and the largest changes with their items."""
    total = comparison.total
    found = [i18n.text("whatif_title", lang, proposal=proposal)]
    for period, revision, summary in comparison.months:
        found.append(i18n.text("whatif_month", lang, period=period, revision=revision, agents=summary.agents,
                               now=numbers.grouped(summary.pay_now), proposed=numbers.grouped(summary.pay_proposed),
                               difference=signed(summary.difference), percent=percent(summary.percent)))
    found.append(i18n.text("whatif_total", lang, agents=total.agents, now=numbers.grouped(total.pay_now),
                           proposed=numbers.grouped(total.pay_proposed), difference=signed(total.difference),
                           percent=percent(total.percent)))
    found.append(i18n.text("whatif_bands_head", lang))
    for band in total.bands:
        found.append(i18n.text("whatif_band", lang, band=pad(band.label[lang], 18), now=band.now, proposed=band.proposed))
    found.append(i18n.text("whatif_teams_head", lang))
    for team in total.teams:
        found.append(i18n.text("whatif_team", lang, team=pad(team.team, 12), now=average(team.now),
                               proposed=average(team.proposed), agents=team.agents))
    found.append(i18n.text("whatif_levels", lang, count=total.level_changes))
    for move in total.level_moves:
        found.append(i18n.text("whatif_level_move", lang, now=move.now[lang], proposed=move.proposed[lang],
                               count=move.agents))
    found.append(i18n.text("whatif_winners", lang, winners=total.winners, losers=total.losers, unchanged=total.unchanged))
    if not any(change.changed for change in comparison.agents):
        return found + [i18n.text("whatif_no_change", lang)]
    if total.largest:
        found.append(i18n.text("whatif_largest_head", lang))
        for change in total.largest:
            found.extend(agent_lines(change, lang))
    return found


def agent_lines(change: whatif.AgentChange, lang: str) -> list[str]:
    """One agent's change and the items that moved, with why on both sides."""
    found = [i18n.text("whatif_agent", lang, period=change.period, agent=change.agent_id, name=change.name,
                       team=change.team, total_now=numbers.plain(change.total_now),
                       total_proposed=numbers.plain(change.total_proposed), band_now=change.band_now[lang],
                       band_proposed=change.band_proposed[lang], m_now=numbers.plain(change.multiplier_now),
                       m_proposed=numbers.plain(change.multiplier_proposed), pay_now=numbers.grouped(change.pay_now),
                       pay_proposed=numbers.grouped(change.pay_proposed), difference=signed(change.difference))]
    for item in change.items:
        found.append(i18n.text("whatif_item", lang, label=item.label[lang], now=_points(item.points_now),
                               proposed=_points(item.points_proposed), why_now=item.why_now[lang] or "—",
                               why_proposed=item.why_proposed[lang] or "—"))
    if change.level_changed:
        found.append(i18n.text("whatif_level_change", lang, now=change.level_change_now[lang],
                               proposed=change.level_change_proposed[lang]))
    return found


def _points(value: Decimal | None) -> str:
    return "—" if value is None else numbers.plain(value)


# ------------------------------------------------------------------ JSON
def document(comparison: whatif.Comparison, proposal: str) -> dict:
    """One JSON document: ``total``, ``months`` and ``agents``; money as strings with two decimals,
    totals and multipliers as exact strings, labels in both languages."""
    return {"proposal": proposal, "periods": list(comparison.total.periods),
            "total": summary_document(comparison.total),
            "months": [{"period": period, "revision": revision, **summary_document(summary)}
                       for period, revision, summary in comparison.months],
            "agents": [agent_document(change) for change in comparison.agents]}


def summary_document(summary: whatif.Summary) -> dict:
    return {"agents": summary.agents, "pay_now": numbers.money(summary.pay_now),
            "pay_proposed": numbers.money(summary.pay_proposed), "difference": numbers.money(summary.difference),
            "percent": None if summary.percent is None else format(summary.percent.quantize(CENT), "f"),
            "bands": [{"label": band.label, "now": band.now, "proposed": band.proposed} for band in summary.bands],
            "teams": [{"team": team.team, "agents": team.agents, "average_now": average(team.now),
                       "average_proposed": average(team.proposed)} for team in summary.teams],
            "level_changes": summary.level_changes,
            "level_moves": [{"now": m.now, "proposed": m.proposed, "agents": m.agents} for m in summary.level_moves],
            "winners": summary.winners, "losers": summary.losers,
            "unchanged": summary.unchanged,
            "largest": [{"period": c.period, "agent_id": c.agent_id, "difference": numbers.money(c.difference)}
                        for c in summary.largest]}


def agent_document(change: whatif.AgentChange) -> dict:
    return {"period": change.period, "agent_id": change.agent_id, "name": change.name, "team": change.team,
            "level": change.level, "total_now": numbers.plain(change.total_now),
            "total_proposed": numbers.plain(change.total_proposed), "band_now": change.band_now,
            "band_proposed": change.band_proposed, "multiplier_now": numbers.plain(change.multiplier_now),
            "multiplier_proposed": numbers.plain(change.multiplier_proposed), "pay_now": numbers.money(change.pay_now),
            "pay_proposed": numbers.money(change.pay_proposed), "difference": numbers.money(change.difference),
            "level_change_now": change.level_change_now, "level_change_proposed": change.level_change_proposed,
            "items": [{"item_id": item.item_id, "label": item.label, "points_now": _json_points(item.points_now),
                       "points_proposed": _json_points(item.points_proposed), "why_now": item.why_now,
                       "why_proposed": item.why_proposed} for item in change.items]}


def _json_points(value: Decimal | None) -> str | None:
    return None if value is None else numbers.plain(value)


# ------------------------------------------------------------------ rules --diff
def diff_lines(found: list[rulediff.Difference], proposal: str, period: str, lang: str) -> list[str]:
    """The differences in the table's words, one per line."""
    if not found:
        return [i18n.text("diff_none", lang, proposal=proposal, period=period)]
    head = [i18n.text("diff_head", lang, proposal=proposal, period=period, count=len(found))]
    return head + [i18n.text("diff_line", lang, subject=_words(d.subject, lang),
                             aspect=i18n.text(d.aspect, lang, **d.params),
                             before=_value(d.before, lang), after=_value(d.after, lang)) for d in found]


def _words(subject, lang: str) -> str:
    return i18n.text(subject, lang) if isinstance(subject, str) else subject(lang)


def _value(value, lang: str) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else value(lang)
