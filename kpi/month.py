"""Scoring a month end to end: read, validate, score, write (the one call the CLI makes).

The pipeline is visible: config → reader → ``inputs.parse`` → ``scoring`` →
``table`` → writers. Any input problem stops it before a file is written.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import NamedTuple

from kpi import calendar, inputs, readers, rules, scoring, table
from kpi.errors import InputError
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


def validate(input_path: Path, ruleset: rules.Ruleset) -> inputs.Parsed:
    """The validated sheet ``input_path``; raises InputError listing every problem."""
    parsed = inputs.parse(readers.read(input_path), ruleset)
    if parsed.problems:
        raise InputError(parsed.problems)
    return parsed


def score(input_path: str | Path, ruleset: rules.Ruleset, out_dir: str | Path | None, lang: str) -> MonthReport:
    """Score the month in ``input_path`` by ``ruleset`` and write every output file into ``out_dir``."""
    input_path = Path(input_path)
    period = ruleset.period
    parsed = validate(input_path, ruleset)
    results = scoring.score_month(ruleset, parsed.agents)
    rows = table.payroll(results, lang)
    line = calendar.for_rules(ruleset)
    destination = Path(out_dir) if out_dir else Path("kpi-out") / period
    input_info = {"file": input_path.name, "sha256": hashlib.sha256(input_path.read_bytes()).hexdigest()}
    with staged(destination) as staging:
        write_all(staging, MonthReport(ruleset, line, results, rows, staging), lang, input_info)
    return MonthReport(ruleset, line, results, rows, destination, tuple(parsed.notices))


def write_all(folder: Path, report: MonthReport, lang: str, input_info: dict) -> None:
    """Every output file of a month into ``folder``."""
    ruleset, results, period = report.ruleset, report.results, report.ruleset.period
    results_json.write(folder / "results.json", results_json.document(ruleset, results, lang, input_info))
    payroll.write_xlsx(folder / f"payroll-{period}.xlsx", report.rows, ruleset, report.timeline, lang)
    payroll.write_csv(folder / f"payroll-{period}.csv", report.rows, lang)
    team_summary.write(folder / f"team-summary-{period}.xlsx", results, ruleset, lang)
    for result in results:
        path = folder / scorecard.relative_path(result)
        path.parent.mkdir(parents=True, exist_ok=True)
        scorecard.write(path, result, ruleset, report.timeline, lang)


ROSTER_FIELDS = ("agent_id", "name", "team", "level", "base_pay", "performance_pay", "sales_last_month")


def read_roster(path: str | Path, ruleset: rules.Ruleset) -> list:
    """The agents of a roster (id, name, team, level, optional pay and last month's sales)."""
    subset = ruleset.model_copy(update={"fields": tuple(f for f in ruleset.fields if f.id in ROSTER_FIELDS)})
    parsed = inputs.parse(readers.read(Path(path)), subset)
    if parsed.problems:
        raise InputError(parsed.problems)
    return parsed.agents


def write_template(roster_path: str | Path, ruleset: rules.Ruleset, out_path: str | Path,
                   notes: list[str], lang: str) -> int:
    """Write the month's fill-in workbook for the roster; returns the agent count."""
    roster = read_roster(roster_path, ruleset)
    with staged_file(Path(out_path)) as staging:
        template.write(staging, roster, ruleset, notes, lang)
    return len(roster)
