"""Scoring a month end to end: read, validate, score, write (the one call the CLI makes).

The pipeline is visible: config → reader → ``inputs.parse`` → ``scoring`` →
``table`` → writers. Any input problem stops it before a file is written.
"""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path
from typing import NamedTuple

from kpi import calendar, i18n, inputs, readers, review, rules, scoring, table
from kpi.errors import InputError
from kpi.ledger import Ledger
from kpi.output import staged, staged_file
from kpi.writers import payroll, results_json, scorecard, team_summary, template


class MonthReport(NamedTuple):
    """What a scoring run produced: the rules, timeline, results, payroll rows and where they went."""

    ruleset: rules.Ruleset
    timeline: calendar.Timeline
    results: tuple[scoring.AgentResult, ...]
    rows: list[table.Row]
    out_dir: Path
    notices: tuple = ()
    revision: int | None = None
    cleared: tuple[str, ...] = ()


def validate(input_path: Path, ruleset: rules.Ruleset) -> inputs.Parsed:
    """The validated sheet ``input_path``; raises InputError listing every problem."""
    parsed = inputs.parse(readers.read(input_path), ruleset)
    if parsed.problems:
        raise InputError(parsed.problems)
    return parsed


def score(input_path: str | Path, ruleset: rules.Ruleset, out_dir: str | Path | None, lang: str,
          ledger: Ledger | None = None) -> MonthReport:
    """Score the month in ``input_path`` by ``ruleset``, write every output file into
    ``out_dir`` and, with a ``ledger``, record the revision: all of it or none of it."""
    input_path = Path(input_path)
    period = ruleset.period
    parsed = validate(input_path, ruleset)
    agents = parsed.agents
    if ledger is not None:
        review.require_open(ledger, period)
        agents = review.fill_from_ledger(ledger, period, agents, "sales_last_month", "sales_actual")
    results = scoring.score_month(ruleset, agents)
    report = MonthReport(ruleset, calendar.for_rules(ruleset), results, table.payroll(results, lang),
                         Path(out_dir) if out_dir else Path("kpi-out") / period, tuple(parsed.notices))
    input_info = {"file": input_path.name, "sha256": hashlib.sha256(input_path.read_bytes()).hexdigest()}
    if ledger is None:
        with staged(report.out_dir) as staging:
            write_all(staging, report, lang, input_info)
        return report
    return _score_into_ledger(ledger, report, lang, input_info)


def _score_into_ledger(ledger: Ledger, report: MonthReport, lang: str, input_info: dict) -> MonthReport:
    """Record the revision and swap the outputs in before the ledger commits."""
    with ledger.write() as db:
        review.require_open(ledger, report.ruleset.period)
        revision = review.next_revision(ledger, db, report.ruleset.period)
        report = report._replace(revision=revision)
        changed = review.record(ledger, db, report.ruleset, report.results, revision, input_info)
        with staged(report.out_dir) as staging:
            write_all(staging, report, lang, input_info)
    return report._replace(cleared=tuple(changed))


def write_all(folder: Path, report: MonthReport, lang: str, input_info: dict) -> None:
    """Every output file of a month into ``folder``."""
    ruleset, results, period = report.ruleset, report.results, report.ruleset.period
    doc = results_json.document(ruleset, results, lang, input_info, report.revision)
    results_json.write(folder / "results.json", doc)
    payroll.write_xlsx(folder / f"payroll-{period}.xlsx", report.rows, ruleset, report.timeline, lang)
    payroll.write_csv(folder / f"payroll-{period}.csv", report.rows, lang)
    team_summary.write(folder / f"team-summary-{period}.xlsx", results, ruleset, lang)
    for result in results:
        path = folder / scorecard.relative_path(result)
        path.parent.mkdir(parents=True, exist_ok=True)
        scorecard.write(path, result, ruleset, report.timeline, lang, report.revision)


ROSTER_FIELDS = ("agent_id", "name", "team", "level", "base_pay", "performance_pay", "sales_last_month")


def read_roster(path: str | Path, ruleset: rules.Ruleset) -> list:
    """The agents of a roster (id, name, team, level, optional pay and last month's sales)."""
    subset = ruleset.with_fields(tuple(f for f in ruleset.fields if f.id in ROSTER_FIELDS))
    parsed = inputs.parse(readers.read(Path(path)), subset)
    if parsed.problems:
        raise InputError(parsed.problems)
    return parsed.agents


def write_template(roster_path: str | Path, ruleset: rules.Ruleset, out_path: str | Path,
                   notes: list[str], lang: str, ledger: Ledger | None = None) -> int:
    """Write the month's fill-in workbook for the roster; returns the agent count.

    With a ledger that holds last month, each agent's level becomes the one
    closing gave them and last month's sales are filled in.
    """
    roster = read_roster(roster_path, ruleset)
    if ledger is not None:
        roster = review.prefill(ledger, ruleset.period, roster)
    with staged_file(Path(out_path)) as staging:
        template.write(staging, roster, ruleset, notes, lang)
    return len(roster)


def close(ledger: Ledger, ruleset: rules.Ruleset, out_dir: str | Path | None, lang: str,
          force_reason: str | None, today: datetime.date) -> tuple[Path, dict]:
    """Close the month in the ledger and write HR's payroll with confirmation states and next levels."""
    period = ruleset.period
    path = (Path(out_dir) if out_dir else Path("kpi-out") / period) / f"payroll-{period}.xlsx"
    line = calendar.for_rules(ruleset)

    def write_payroll(moves) -> None:
        latest = review.latest_revision(ledger, period)
        states = {s.agent_id: i18n.text(f"state_{s.state}", lang)
                  for s in review.status(ledger, period, line.date("confirm_deadline"), today)}
        levels = {a: (m.level_to, i18n.text(f"flag_{m.flag}", lang).strip() if m.flag else "") for a, m in moves.items()}
        rows = table.closed_payroll(review.results_of(ledger, latest["id"]), states, levels, lang)
        with staged_file(path) as staging:
            payroll.write_xlsx(staging, rows, ruleset, line, lang, table.COLUMNS + table.CLOSING)

    return path, review.close(ledger, ruleset, force_reason, write_payroll)
