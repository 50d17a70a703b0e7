"""Scoring a month end to end: read, validate, score, write (the one call the CLI makes).

The pipeline is visible: config → reader → ``inputs.parse`` → ``scoring`` →
``table`` → writers. Any input problem stops it before a file is written.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from kpi import calendar, cards, explain, i18n, inputs, readers, review, rules, scoring, table
from kpi.errors import InputError
from kpi.ledger import Ledger
from kpi.output import staged, staged_file
from kpi.writers import payroll, results_json, safe, team_summary, template


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
    kept: int = 0


def validate(input_path: Path, ruleset: rules.Ruleset) -> inputs.Parsed:
    """The validated sheet ``input_path``; raises InputError listing every problem."""
    parsed = inputs.parse(readers.read(input_path), ruleset)
    if parsed.problems:
        raise InputError(parsed.problems)
    return parsed


def score(input_path: str | Path, ruleset: rules.Ruleset, out_dir: str | Path | None, lang: str,
          ledger: Ledger | None = None, *, jobs: int = 1, scorecards: bool = True,
          progress: Callable[[int, int], None] | None = None, passwords: dict[str, str] | None = None) -> MonthReport:
    """Score the month in ``input_path`` by ``ruleset``, write every output file into
    ``out_dir`` and, with a ``ledger``, record the revision: all of it or none of it.

    ``jobs`` processes write the scorecards; ``progress(done, total)`` hears of each one;
    ``passwords`` (agent id → password) encrypts each scorecard with its agent's.
    """
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
    langs = review.LANGS if ledger is not None else (lang,)
    job = _Job(report, lang, input_info, jobs, scorecards, progress or (lambda done, total: None),
               explain.texts(ruleset, results, langs), passwords)
    if ledger is None:
        with staged(report.out_dir) as staging:
            write_all(staging, job, job.plan({}, None))
        return report
    return _score_into_ledger(ledger, job)


class _Job(NamedTuple):
    """One scoring run's settings, passed to the writers."""

    report: MonthReport
    lang: str
    input_info: dict
    jobs: int
    scorecards: bool
    progress: Callable[[int, int], None]
    texts: dict[str, list[dict[str, str]]]
    passwords: dict[str, str] | None = None

    def plan(self, previous: dict, revision: int | None) -> list[cards.Card]:
        if not self.scorecards:
            return []
        report = self.report
        return cards.plan(report.results, report.ruleset, report.timeline, self.lang, revision, previous,
                          report.out_dir, self.passwords)


def _score_into_ledger(ledger: Ledger, job: _Job) -> MonthReport:
    """Write the outputs, record the revision, swap the outputs in, then let the ledger commit."""
    period = job.report.ruleset.period
    with ledger.write() as db:
        review.require_open(ledger, period)
        revision = review.next_revision(ledger, db, period)
        planned = job.plan(review.previous_cards(ledger, period), revision)
        job = job._replace(report=job.report._replace(revision=revision))
        changed = []

        def record() -> None:
            written = {c.result.agent.agent_id: (c.key, c.revision, "", str(c.path)) for c in planned}
            changed.extend(review.record(ledger, db, job.report.ruleset, job.report.results, revision,
                                         job.input_info, written, job.texts))

        with staged(job.report.out_dir) as staging:
            write_all(staging, job, planned, record)
            review.set_card_stats(db, period, revision,
                                  {c.result.agent.agent_id: cards.file_stat(staging / c.path) for c in planned})
    return job.report._replace(cleared=tuple(changed), kept=sum(c.reuse for c in planned))


def write_all(folder: Path, job: _Job, planned: list[cards.Card], also: Callable[[], None] = lambda: None) -> None:
    """Every output file of a month into ``folder``; kept scorecards come from the old output.

    The summary files (and ``also``, the ledger record) are done while the
    scorecard workers write.
    """
    report, lang = job.report, job.lang
    ruleset, results, period = report.ruleset, report.results, report.ruleset.period
    done = [0]

    def summary_files() -> None:
        doc = results_json.document(ruleset, results, lang, job.input_info, report.revision, job.texts[lang])
        results_json.write(folder / "results.json", doc)
        payroll.write_xlsx(folder / f"payroll-{period}.xlsx", report.rows, ruleset, report.timeline, lang)
        payroll.write_csv(folder / f"payroll-{period}.csv", report.rows, lang)
        team_summary.write(folder / f"team-summary-{period}.xlsx", results, ruleset, lang)
        if job.passwords:
            write_passwords(folder / "hr-only" / f"passwords-{period}.csv", report.results, job.passwords, lang)
        also()

    def tick(count: int) -> None:
        done[0] += count
        job.progress(done[0], len(planned))

    cards.write(planned, folder, report.out_dir, ruleset, report.timeline, lang, job.jobs, tick, summary_files)


ROSTER_FIELDS = ("agent_id", "name", "team", "level", "base_pay", "performance_pay", "sales_last_month")


def read_roster(path: str | Path, ruleset: rules.Ruleset) -> list:
    """The agents of a roster (id, name, team, level, optional pay and last month's sales)."""
    subset = ruleset.with_fields(tuple(f for f in ruleset.fields if f.id in ROSTER_FIELDS))
    return validate(Path(path), subset).agents


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


def generated_passwords(agent_ids, length: int = 10) -> dict[str, str]:
    """A random password per agent, from letters and digits that are hard to misread."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
    return {agent_id: "".join(secrets.choice(alphabet) for _ in range(length)) for agent_id in agent_ids}


def read_passwords(path: str | Path, ruleset: rules.Ruleset) -> dict[str, str]:
    """agent id → password from an HR file with the columns 工号 and password (密码)."""
    field = rules.InputField(id="password", label=rules.Label(zh="密码", en="Password"), type="text", required=True)
    subset = ruleset.with_fields((ruleset.field("agent_id"), field))
    return {agent.agent_id: agent.values["password"] for agent in validate(Path(path), subset).agents}


def write_passwords(path: Path, results, passwords: dict[str, str], lang: str) -> None:
    """The HR-only list of scorecard passwords, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with open(handle, "w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([i18n.text("col_agent_id", lang), i18n.text("col_name", lang), i18n.text("col_password", lang)])
        for result in results:
            agent = result.agent
            writer.writerow([safe.csv_cell(agent.agent_id), safe.csv_cell(agent.name), passwords.get(agent.agent_id, "")])
