"""The platform import's plan in words, for the terminal: what was read, the cells that change,
who is unmatched and what the supervisor still types (the web renders the same records itself)."""

from __future__ import annotations

from decimal import Decimal

from kpi.core import i18n, numbers, rules
from kpi.pipeline.intake import Plan


def lines(found: Plan, ruleset: rules.Ruleset, lang: str) -> list[str]:
    """What was read, the cells that change, who is unmatched, and what the supervisor still types."""
    label = lambda field: ruleset.field(field).label(lang) if ruleset.field(field) else field  # noqa: E731
    sep = i18n.text("explain_sep", lang)
    out = []
    for read in found.exports:
        out.append(i18n.text("import_read", lang, source=read.source, profile=read.profile.label(lang), rows=read.rows))
        if read.absent:
            out.append(i18n.text("import_absent", lang, fields=sep.join(label(f) for f in read.absent)))
    if found.changes:
        out.append(i18n.text("import_changes_header", lang, count=len(found.changes)))
        out += [i18n.text("import_change_line", lang, location=c.location, agent=c.agent_id, field=label(c.field),
                          old=_shown(c.old), new=numbers.plain(c.new)) for c in found.changes]
    elif found.kept:
        out.append(i18n.text("import_no_changes", lang, count=found.kept))
    if found.unmatched:
        out.append(i18n.text("import_unmatched_header", lang, count=len(found.unmatched)))
        out += [i18n.text("import_unmatched_line", lang, location=r.where, account=r.account) for r in found.unmatched]
    if found.missing:
        out.append(i18n.text("import_missing_header", lang, count=len(found.missing)))
        out += [i18n.text("import_missing_line", lang, agent=a.agent_id, name=a.name,
                          accounts="; ".join(a.accounts) or i18n.text("import_no_accounts", lang))
                for a in found.missing]
    if found.from_ledger[0]:
        out.append(i18n.text("import_ledger_filled", lang, count=found.from_ledger[0], source=found.from_ledger[1]))
    out += left_to_sheet(found, ruleset, lang)
    return out


def left_to_sheet(found: Plan, ruleset: rules.Ruleset, lang: str) -> list[str]:
    """The fields the profiles used leave to the supervisor, with each profile's reason."""
    out, seen = [], set()
    for read in found.exports:
        for left in read.profile.left_to_sheet:
            if left.field not in seen and ruleset.field(left.field):
                seen.add(left.field)
                out.append(i18n.text("import_left_line", lang, field=ruleset.field(left.field).label(lang),
                                     reason=left.reason(lang)))
    if not out:
        return []
    return [i18n.text("import_left_header", lang), *out, i18n.text("import_left_judgement", lang)]


def _shown(value: object) -> str:
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return numbers.plain(numbers.D(value))
    return str(value)
