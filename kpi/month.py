"""Scoring a month end to end: read, validate, score, write (the one call the CLI makes).

The pipeline is visible: config → reader → ``inputs.parse`` → ``scoring`` →
``table`` → writers. Any input problem stops it before a file is written.
"""

from __future__ import annotations

import csv
import datetime
import functools
import hashlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from kpi import calendar, cards, explain, i18n, inputs, readers, review, rules, scoring, table, workers
from kpi.errors import InputError
from kpi.ledger import Ledger
from kpi.output import staged, staged_file
from kpi.writers import packaging, payroll, results_json, safe, team_summary, template


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

    ``jobs`` processes share the work; ``progress(done, total)`` hears of the scorecards;
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
    job = _Job(report, lang, input_info, jobs, scorecards, progress or (lambda done, total: None), passwords)
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
    passwords: dict[str, str] | None = None

    def plan(self, previous: dict, revision: int | None) -> list[cards.Card]:
        """The scorecards to write or keep, one per result in the same order (none when not asked)."""
        if not self.scorecards:
            return []
        report = self.report
        return cards.plan(report.results, report.ruleset, report.timeline, self.lang, revision, previous,
                          report.out_dir, self.passwords)


class _Store(NamedTuple):
    """Where the ledger rows of a run go: the revision's row id and what stores a chunk of rows."""

    revision_id: int
    add: Callable[[list[tuple]], None]


def _score_into_ledger(ledger: Ledger, job: _Job) -> MonthReport:
    """Write the outputs and the revision's rows, swap the outputs in, then let the ledger commit."""
    period = job.report.ruleset.period
    with ledger.write() as db:
        review.require_open(ledger, period)
        revision = review.next_revision(ledger, db, period)
        planned = job.plan(review.previous_cards(ledger, period), revision)
        job = job._replace(report=job.report._replace(revision=revision))
        started = review.begin(ledger, db, job.report.ruleset, revision, job.input_info)
        fingerprints: list[tuple[str, str]] = []

        def add(rows: list[tuple]) -> None:
            review.add(db, rows)
            fingerprints.extend(review.fingerprints(rows))

        with staged(job.report.out_dir) as staging:
            write_all(staging, job, planned, _Store(started.id, add))
        changed = review.finish(ledger, db, period, started, fingerprints, job.input_info)
    return job.report._replace(cleared=tuple(changed), kept=sum(c.reuse for c in planned))


CHUNK = 200  # agents per task at most: small enough to share the work evenly and show progress


class _Chunk(NamedTuple):
    """What a chunk of agents gave: results.json lines, ledger rows, scorecards put."""

    lines: list[str]
    rows: list[tuple]
    cards: int


def write_all(folder: Path, job: _Job, planned: list[cards.Card], store: _Store | None = None) -> None:
    """Every output file of a month into ``folder``, and with ``store`` every ledger row.

    The summary files and each chunk of agents (explanations, JSON, ledger rows,
    scorecards) are tasks for :mod:`kpi.workers`; here the chunks' lines are
    written to results.json and their rows stored, in agent order, as they come.
    """
    count = len(job.report.results)
    files = _file_tasks(folder, job)
    size = max(1, min(CHUNK, -(-count // (job.jobs * 8))))
    chunks = [functools.partial(_chunk, folder, job, planned, store and store.revision_id, start,
                                min(start + size, count)) for start in range(0, count, size)]
    cards.make_folders(planned, folder)
    finished = workers.run(files + chunks, job.jobs)
    ordered = workers.in_order((index - len(files), value) for index, value in finished if index >= len(files))
    done = [0]

    def lines():
        for chunk in ordered:
            if store is not None:
                store.add(chunk.rows)
            if chunk.cards:
                done[0] += chunk.cards
                job.progress(done[0], len(planned))
            yield from chunk.lines

    head = results_json.head(job.report.ruleset, job.lang, job.input_info, job.report.revision)
    results_json.write(folder / "results.json", head, lines())


def _file_tasks(folder: Path, job: _Job) -> list[workers.Task]:
    """The month's files other than results.json and the scorecards, each a task."""
    report, lang = job.report, job.lang
    ruleset, period = report.ruleset, report.ruleset.period
    tasks = [functools.partial(team_summary.write, folder / f"team-summary-{period}.xlsx", report.results, ruleset, lang),
             functools.partial(payroll.write_xlsx, folder / f"payroll-{period}.xlsx", report.rows, ruleset,
                               report.timeline, lang),
             functools.partial(payroll.write_csv, folder / f"payroll-{period}.csv", report.rows, lang)]
    if job.passwords:
        tasks.append(functools.partial(write_passwords, folder / "hr-only" / f"passwords-{period}.csv",
                                       report.results, job.passwords, lang))
    return tasks


def _chunk(folder: Path, job: _Job, planned: list[cards.Card], revision_id: int | None,
           start: int, stop: int) -> _Chunk:
    """Agents ``start:stop``: their explanations (both languages for the ledger), results.json
    lines, scorecards, and ledger rows when ``revision_id`` is given."""
    report, lang = job.report, job.lang
    results = report.results[start:stop]
    langs = review.LANGS if revision_id is not None else (lang,)
    explainers = {code: explain.Explainer(report.ruleset, code) for code in langs}
    texts = explain.texts(explainers, results)
    lines = [results_json.line(report.ruleset, result, lang, texts[lang][index]) for index, result in enumerate(results)]
    mine, parts = planned[start:stop], packaging.Parts()
    put = {card.result.agent.agent_id: (card.key, card.revision,
                                        cards.put(card, folder, report.out_dir, report.timeline, explainers[lang], parts),
                                        str(card.path)) for card in mine}
    if revision_id is None:
        return _Chunk(lines, [], len(mine))
    rows = [review.result_row(revision_id, result, {code: texts[code][index] for code in langs},
                              put.get(result.agent.agent_id, review.NO_CARD))
            for index, result in enumerate(results)]
    return _Chunk(lines, rows, len(mine))


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
