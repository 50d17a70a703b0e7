"""Scoring a month end to end: read, validate, score, write (the one call the CLI makes).

The pipeline is visible: config → reader → ``inputs.parse`` → team contexts →
chunks of agents (``scoring``, scorecards, results.json lines, ``table`` rows) →
the summary files from those rows. Any input problem stops it before a file is written.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import functools
import hashlib
import itertools
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from kpi.core import calendar, explain, filenames, i18n, imports, inputs, limits, numbers, rules, scoring, seal, table
from kpi.io import cards, output, readers, reuse, testhooks, workers
from kpi.ledger import answers, carryover, closing, explanations, publication, revisions
from kpi.core.errors import InputError, InputProblem
from kpi.ledger.db import Ledger
from kpi.io.output import staged, staged_file
from kpi.io.writers import packaging, payroll, results_json, safe, scorecard, team_summary, template


class MonthReport(NamedTuple):
    """What a scoring run produced: the rules, timeline, payroll rows (which also hold each
    agent's points and band) and where they went."""

    ruleset: rules.Ruleset
    timeline: calendar.Timeline
    rows: list[table.Row]
    out_dir: Path
    notices: tuple = ()
    revision: int | None = None
    cleared: tuple[str, ...] = ()
    kept: int = 0


def validate(input_path: Path, ruleset: rules.Ruleset, prefetch: bool = False,
             progress: Callable[[str, int, int], None] | None = None, same_month: bool = True,
             sheet: str | None = None) -> inputs.Parsed:
    """The validated sheet ``input_path``; raises InputError listing every problem.

    ``prefetch``: another process reads the workbook while this one checks the rows;
    ``progress("reading", row, rows)`` hears how far the reading is, when the file says
    how many rows it has. ``same_month``: a workbook that names its month (``kpi template``
    writes it) must name the ruleset's (a roster may be any month's sheet); ``sheet``: the
    workbook's sheet to read, else the one holding the table of the ruleset's period (:mod:`kpi.core.sheets`)."""
    grid = readers.read(input_path, prefetch, period=ruleset.period, sheet=sheet,
                        header_test=inputs.header_test(ruleset))
    if same_month and grid.period and grid.period != ruleset.period:
        raise InputError([InputProblem("", "", grid.source, grid.period, "sheet_other_period",
                                       (("period", grid.period), ("expected", ruleset.period)))])
    if progress is not None and grid.size:
        grid = grid._replace(rows=_reported(grid.rows, grid.size, progress))
    parsed = inputs.parse(grid, ruleset)
    if parsed.problems:
        raise InputError(parsed.problems)
    implausible = limits.implausible(ruleset, parsed.agents)
    if implausible:
        raise InputError(implausible)
    return parsed


def validate_all(input_paths, ruleset: rules.Ruleset, prefetch: bool = False,
                 progress: Callable[[str, int, int], None] | None = None, teams=None,
                 sheet: str | None = None) -> inputs.Parsed:
    """The teams' validated sheets ``input_paths`` of one month merged into one; raises
    InputError listing every problem of every file, and refuses an agent or a team found in
    two files (each team's sheet comes from its own supervisor; personal share compares
    within a team, so teams are scored apart but in one revision).

    ``teams``: for each path, the teams to take from it (None: all), when a sheet holds
    more teams than the one it stands for."""
    paths = [Path(p) for p in ([input_paths] if isinstance(input_paths, (str, os.PathLike)) else input_paths)]
    if len(paths) == 1 and not teams:
        return validate(paths[0], ruleset, prefetch, progress, sheet=sheet)
    problems, notices, agents = [], [], []
    agent_file: dict[str, str] = {}
    team_file: dict[str, str] = {}
    for index, path in enumerate(paths):
        try:
            parsed = validate(path, ruleset, prefetch, progress, sheet=sheet)
        except InputError as error:
            problems.extend(error.problems)
            continue
        wanted = teams[index] if teams else None
        if wanted is not None:
            parsed = parsed._replace(agents=[a for a in parsed.agents if a.team in wanted])
        notices.extend(parsed.notices)
        for team in sorted({agent.team for agent in parsed.agents}):
            if team in team_file:
                problems.append(InputProblem("", "", path.name, "", "team_in_two_files",
                                             (("team", team), ("other", team_file[team]))))
        for agent in parsed.agents:
            if agent.agent_id in agent_file:
                problems.append(InputProblem(agent.agent_id, "agent_id", agent.origin, agent.agent_id,
                                             "agent_in_two_files", (("file", agent_file[agent.agent_id]),)))
            agent_file.setdefault(agent.agent_id, path.name)
        for team in {agent.team for agent in parsed.agents}:
            team_file.setdefault(team, path.name)
        agents.extend(parsed.agents)
    if problems:
        raise InputError(problems)
    return inputs.Parsed(agents, [], notices)


def input_info(input_paths) -> dict:
    """The input's name and sha256 for the ledger: of the one file, or of several files (their
    names joined, and the sha256 of their names and sha256s)."""
    paths = [Path(p) for p in ([input_paths] if isinstance(input_paths, (str, os.PathLike)) else input_paths)]
    digests = [(path.name, hashlib.sha256(path.read_bytes()).hexdigest()) for path in paths]
    if len(digests) == 1:
        return {"file": digests[0][0], "sha256": digests[0][1]}
    joined = "".join(f"{name}\0{digest}\n" for name, digest in sorted(digests))
    return {"file": ", ".join(name for name, _ in digests), "sha256": hashlib.sha256(joined.encode()).hexdigest()}


def plausibility(parsed: inputs.Parsed, ruleset: rules.Ruleset) -> list[InputProblem]:
    """Notices for agents whose total would be above the weights' ``plausible_total``: such a
    total is possible (an uncapped bonus) but most likely a typing error, so ``kpi check`` asks."""
    if ruleset.weights.plausible_total is None or not parsed.agents:
        return []
    bound = numbers.plain(ruleset.weights.plausible_total)
    return [InputProblem(r.agent.agent_id, "", r.agent.origin, numbers.plain(r.total), "total_implausible",
                         (("agent", r.agent.agent_id), ("total", numbers.plain(r.total)), ("bound", bound)))
            for r in scoring.implausible(ruleset, scoring.score_month(ruleset, parsed.agents))]


def _reported(rows, size: int, progress: Callable[[str, int, int], None], every: int = 1000):
    """``rows`` passed on, telling ``progress`` of every ``every``-th and of the end."""
    for number, values in rows:
        if number % every == 0:
            progress("reading", min(number, size), size)
        yield number, values
    progress("reading", size, size)


def score(input_path, ruleset: rules.Ruleset, out_dir: str | Path | None, lang: str,
          ledger: Ledger | None = None, *, jobs: int = 1, scorecards: bool = True,
          progress: Callable[[str, int, int], None] | None = None, passwords: dict[str, str] | None = None,
          teams=None, sheet: str | None = None) -> MonthReport:
    """Score the month in ``input_path`` by ``ruleset``, write every output file into
    ``out_dir`` and, with a ``ledger``, record the revision: all of it or none of it.

    ``jobs`` processes share the work; ``progress(stage, done, total)`` hears how far it is:
    stage ``reading`` counts rows, ``scorecards`` (or ``scoring`` without them) agents,
    then ``files`` the payroll and summary files;
    ``passwords`` (agent id → password) encrypts each scorecard with its agent's;
    ``sheet``: the workbook's sheet to read (``--sheet``).
    ``input_path`` may be several files of the same month, one per team (:func:`validate_all`,
    which ``teams`` is passed to).
    """
    period = ruleset.period
    progress = progress or (lambda stage, done, total: None)
    parsed = validate_all(input_path, ruleset, prefetch=jobs > 1, progress=progress, teams=teams, sheet=sheet)
    agents, notices = list(parsed.agents), tuple(parsed.notices)
    del parsed   # the job's list is the only one: each agent's input is dropped once scored (write_all)
    if passwords is not None and scorecards:
        require_passwords(agents, passwords)
    if ledger is not None:
        revisions.require_open(ledger, period)
    report = MonthReport(ruleset, calendar.for_rules(ruleset), [],
                         Path(out_dir) if out_dir else Path("kpi-out") / period, notices)
    info = input_info(input_path)
    settings = reuse.run(ruleset, report.timeline, lang, scorecards)
    job = _Job(report, lang, info, jobs, scorecards, progress, passwords,
               agents, scoring.contexts(ruleset, agents), settings,
               paths=filenames.card_paths((a.agent_id, a.name, a.team) for a in agents) if scorecards else {})
    del agents
    if ledger is None:
        with staged(report.out_dir) as staging:
            rows = write_all(staging, job).rows
        return report._replace(rows=rows)
    return _score_into_ledger(ledger, job)


class _Job(NamedTuple):
    """One scoring run: the agents and their teams, the settings passed to the writers;
    ``settings``: what besides its row and team an agent's result and files follow from;
    ``previous``: agent id → the scorecard of the last revision (``cards.Previous``), to
    keep the unchanged ones; ``before``: agent id → its input key and payroll row then;
    ``summary``: the last revision's team summary, to take unchanged sheets from; ``files``:
    name → [content key, stat] of its files that can be taken whole (:func:`_payroll_files`)."""

    report: MonthReport
    lang: str
    input_info: dict
    jobs: int
    scorecards: bool
    progress: Callable[[str, int, int], None]
    passwords: dict[str, str] | None
    agents: list[inputs.AgentInput | None]   # the month's agents; None once scored (write_all frees them)
    teams: dict[str, scoring.TeamContext]
    settings: reuse.Run | None = None
    previous: dict = {}
    before: dict = {}
    summary: team_summary.Earlier | None = None
    files: dict = {}
    paths: dict = {}   # agent id → scorecard path (kpi.core.filenames.card_paths: the month's cards named together)
    secret: bytes | None = None

    def input_key(self, agent: inputs.AgentInput) -> str:
        """The agent's input key (:func:`kpi.io.reuse.agent_key`) in this run."""
        password = (self.passwords or {}).get(agent.agent_id)
        return reuse.agent_key(agent, self.teams[agent.team], self.settings, password)

    def card_intact(self, agent_id: str) -> bool:
        """Whether the agent's last scorecard is still the file written then (always true
        without scorecards: the input key tells a run with them from one without)."""
        if not self.scorecards:
            return True
        card = self.previous.get(agent_id)
        return (card is not None and bool(card.path) and card.path == str(self.card_path(agent_id))
                and reuse.unchanged(os.path.join(self.report.out_dir, card.path), card.stat))

    def card_path(self, agent_id: str) -> Path:
        """Where the agent's scorecard goes in this run (relative to the output directory)."""
        return Path(*self.paths[agent_id].parts)

    def plan(self, results) -> list[cards.Card]:
        """The scorecards of ``results`` to write or keep, in the same order (none when not asked)."""
        if not self.scorecards:
            return []
        report = self.report
        return cards.plan(results, report.ruleset, report.timeline, self.lang, report.revision, self.previous,
                          report.out_dir, self.passwords, self.paths, self.secret)


class _Store(NamedTuple):
    """Where the ledger rows of a run go: the revision's row id, the previous revision's (rows of
    unchanged agents are copied from it) and what stores a chunk."""

    revision_id: int
    previous_id: int | None
    add: Callable[[_Chunk], None]
    ruleset: str = ""        # the sha256 of the rules stored for the revision's rows


def _score_into_ledger(ledger: Ledger, job: _Job) -> MonthReport:
    """Write the outputs and the revision's rows, let the ledger commit, then put the outputs in place."""
    period = job.report.ruleset.period
    out_dir = job.report.out_dir
    with output.staged_for_ledger(out_dir, functools.partial(publication.counted, ledger, period, out_dir)) as stage:
        report = _write_revision(ledger, job, stage)
        # the ledger has committed: the output goes in place (a kill now is finished by the next run)
        testhooks.reached("after_commit")
        stage.publish()
        testhooks.reached("after_swap")
    return report


def _write_revision(ledger: Ledger, job: _Job, stage: output.Stage) -> MonthReport:
    """The revision's rows and its output (into ``stage``, marked ready), in one ledger transaction."""
    period = job.report.ruleset.period
    with ledger.write() as db:
        # the base month is read under the write lock: a month scored while the one before it
        # is being scored waits for it (or fails as busy), it never reads "no base month"
        ledger.require_intact(period, period.previous)
        revisions.require_open(ledger, period)
        # in place: the job's list stays the only one holding the agents (write_all frees them)
        job.agents[:] = carryover.fill_from_ledger(ledger, period, job.agents, "sales_last_month", "sales_actual")
        agents = job.agents
        implausible = limits.implausible(job.report.ruleset, agents, {agent.agent_id for agent in agents if agent.filled})
        if implausible:  # a base month taken from the ledger can make a result run away too
            raise InputError(implausible)
        job = job._replace(teams=scoring.contexts(job.report.ruleset, agents), secret=ledger.secret,
                           settings=job.settings._replace(seal=reuse.seal_id(ledger.secret)))
        revision = revisions.next_revision(ledger, db, period)
        before = revisions.previous(ledger, period)
        job = job._replace(report=job.report._replace(revision=revision), previous=before.cards, before=before.rows)
        job = job._replace(summary=_earlier_summary(job, before.summary), files=before.summary.get("files", {}))
        started = revisions.begin(ledger, db, job.report.ruleset, revision, job.input_info)
        fingerprints: list[tuple[str, str]] = []

        def add(chunk: _Chunk) -> None:
            revisions.add(db, chunk.rows, chunk.copies, chunk.carried, chunk.records)
            fingerprints.extend(chunk.fingerprints)

        staging = stage.path
        written = write_all(staging, job, _Store(started.id, started.previous_id, add, started.ruleset))
        files = {name: [key, reuse.file_stat(staging / name)] for name, key in written.files.items()}
        revisions.record_summary(db, started, reuse.file_stat(staging / _summary_name(period)), written.sheets, files,
                                 job.report.out_dir)  # the folder: where a kill after the commit is finished
        changed = revisions.finish(ledger, db, period, started, fingerprints, job.input_info)
        stage.ready()
        testhooks.reached("before_commit")
    return job.report._replace(rows=written.rows, cleared=tuple(changed), kept=written.kept)


def _summary_name(period: str) -> str:
    return f"team-summary-{period}.xlsx"


def _earlier_summary(job: _Job, before: dict) -> team_summary.Earlier | None:
    """The team summary of the last revision (``before``: its stat and sheet keys) if it is
    still the file written then."""
    path = job.report.out_dir / _summary_name(job.report.ruleset.period)
    return team_summary.Earlier(path, before["sheets"]) if reuse.same_summary(path, before) else None


CHUNK = 200  # agents per task at most: small enough to share the work evenly and show progress


@dataclasses.dataclass
class _Chunk:
    """What a chunk of agents gave: results.json lines (in agent order), payroll rows and their
    seals (agent id, :func:`kpi.core.table.seal`), ledger rows (new, with their item records; copied
    for agents whose scorecard was kept; carried over for agents unchanged), the fingerprints
    of the new ones, scorecards kept."""

    lines: list[bytes | results_json.Taken] = dataclasses.field(default_factory=list)
    payroll: list[table.Row] = dataclasses.field(default_factory=list)
    seals: list[tuple[str, bytes]] = dataclasses.field(default_factory=list)
    rows: list[tuple] = dataclasses.field(default_factory=list)
    copies: list[tuple] = dataclasses.field(default_factory=list)
    carried: list[tuple] = dataclasses.field(default_factory=list)
    records: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    fingerprints: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    kept: int = 0


class _Written(NamedTuple):
    """What :func:`write_all` wrote: the payroll rows, how many scorecards it kept, the team
    summary's sheet keys, the content keys of the files a re-score may take whole."""

    rows: list[table.Row]
    kept: int
    sheets: list[str]
    files: dict[str, str]


def write_all(folder: Path, job: _Job, store: _Store | None = None) -> _Written:
    """Every output file of a month into ``folder``, and with ``store`` every ledger row.

    First the chunks of agents, tasks for :mod:`kpi.io.workers`: each scores its agents and
    writes their scorecards, results.json lines, explanations and ledger rows; here the
    lines are written and the rows stored, in agent order, as they come. A result lives
    only as long as its chunk: what outlives it is its payroll row and the row's seal, from
    which the summary files and their content keys are then made (again as tasks). Per agent,
    memory holds its input until its chunk is done (then ``job.agents`` forgets it) and its
    payroll row (a few hundred bytes), never its result or a workbook.
    """
    count = len(job.agents)
    size = max(1, min(CHUNK, -(-count // (job.jobs * 8))))
    earlier = _earlier_lines(job) if store is not None else None
    chunks = [functools.partial(_chunk, folder, job, store, earlier, start, min(start + size, count))
              for start in range(0, count, size)]
    rows: list[table.Row] = []
    seals: dict[str, bytes] = {}
    done = [0, 0]

    def lines():
        for chunk in workers.in_order(workers.run(chunks, job.jobs)):
            # the chunk's agents are scored: their inputs go (forked workers hold their own copy)
            job.agents[done[0]:done[0] + len(chunk.lines)] = itertools.repeat(None, len(chunk.lines))
            if store is not None:
                store.add(chunk)
            rows.extend(chunk.payroll)
            seals.update(chunk.seals)
            done[0] += len(chunk.lines)
            done[1] += chunk.kept
            job.progress("scorecards" if job.scorecards else "scoring", done[0], count)
            yield from chunk.lines

    head = results_json.head(job.report.ruleset, job.lang, job.input_info, job.report.revision)
    results_json.write(folder / "results.json", head, lines(), earlier)
    rows = table.ordered(rows)
    files = _file_tasks(folder, job, rows, seals)
    values = {}
    for index, value in workers.run(files, job.jobs):
        values[index] = value
        job.progress("files", len(values), len(files))
    return _Written(rows, done[1], values[0], values[1])


def _file_tasks(folder: Path, job: _Job, rows: list[table.Row], seals: dict[str, bytes]) -> list[workers.Task]:
    """The month's files other than results.json and the scorecards, as tasks: the team summary
    first (its value is its sheet keys), then the payroll files (theirs, name → content key);
    ``seals`` (agent id → :func:`kpi.core.table.seal` of its row) make their keys."""
    report, lang = job.report, job.lang
    tasks = [functools.partial(team_summary.write, folder / _summary_name(report.ruleset.period), rows,
                               report.ruleset, lang, job.summary, seals),
             functools.partial(_payroll_files, folder, job, rows, seals)]
    if job.passwords:
        tasks.append(functools.partial(write_passwords, folder / "hr-only" / f"passwords-{report.ruleset.period}.csv",
                                       rows, job.passwords, lang))
    return tasks


def _payroll_files(folder: Path, job: _Job, rows: list[table.Row], seals: dict[str, bytes]) -> dict[str, str]:
    """HR's payroll files into ``folder``, each linked from the last revision's output (same
    bytes, same mtime) if that was written from the same content and is untouched since, else
    written. Returns name → content key (:func:`kpi.io.reuse.payroll_keys`)."""
    report, lang = job.report, job.lang
    period, ruleset, line = report.ruleset.period, report.ruleset, report.timeline
    writers = {f"payroll-{period}.xlsx": functools.partial(payroll.write_xlsx, rows=rows, ruleset=ruleset, line=line,
                                                           lang=lang),
               f"payroll-{period}.csv": functools.partial(payroll.write_csv, rows=rows, lang=lang,
                                                          encoding=ruleset.pay.payroll.csv_encoding)}
    keys = reuse.payroll_keys(list(writers), rows, ruleset, line, lang, seals)
    for name, write in writers.items():
        old = report.out_dir / name
        if reuse.same_file(job.files.get(name), keys[name], old):
            output.link(old, folder / name)
        else:
            write(folder / name)
    return keys


def _chunk(folder: Path, job: _Job, store: _Store | None, earlier: results_json.Earlier | None,
           start: int, stop: int) -> _Chunk:
    """Agents ``start:stop``: their scorecards, results.json lines, payroll rows and, with a
    ``store``, ledger rows. Those unchanged since the last revision are carried over
    (:func:`_carry`), the others scored (:func:`_score`)."""
    agents = job.agents[start:stop]
    keys = {agent.agent_id: job.input_key(agent) for agent in agents} if store is not None else {}
    out = _Chunk()
    lines = _carry(out, folder, job, store, earlier, agents, keys)
    lines.update(_score(out, folder, job, store, earlier, [a for a in agents if a.agent_id not in lines], keys))
    out.lines.extend(lines[agent.agent_id] for agent in agents)
    return out


def _carry(out: _Chunk, folder: Path, job: _Job, store: _Store | None, earlier: results_json.Earlier | None,
           agents, keys: dict[str, str]) -> dict[str, results_json.Taken]:
    """Carry over the agents whose input key is the last revision's and whose files are still
    there (scorecard as written, line in the earlier results.json): nothing is scored or
    rendered; the scorecard is linked, the ledger row copied, the payroll row taken back.
    Returns agent id → results.json line (to take over) of those carried."""
    if store is None or earlier is None or store.previous_id is None:
        return {}
    carried = [agent for agent in agents
               if reuse.carried(job.before.get(agent.agent_id), keys[agent.agent_id], agent.agent_id in earlier.spans,
                                job.card_intact(agent.agent_id))]
    if job.scorecards:
        cards.keep([job.previous[agent.agent_id].path for agent in carried], folder, job.report.out_dir)
        out.kept += len(carried)
    for agent in carried:
        out.carried.append(revisions.carried_row(store.revision_id, agent, store.previous_id))
        text = job.before[agent.agent_id][1]
        out.payroll.append(table.decoded(text))
        out.seals.append((agent.agent_id, table.seal(text)))
    return {agent.agent_id: results_json.Taken(agent.agent_id) for agent in carried}


def _score(out: _Chunk, folder: Path, job: _Job, store: _Store | None, earlier: results_json.Earlier | None,
           agents, keys: dict[str, str]) -> dict[str, bytes | results_json.Taken]:
    """Score ``agents``, write their scorecards (keeping those whose content key has not
    changed) and their rows; returns agent id → results.json line.

    An agent whose scorecard is kept has the result of the last revision: its results.json
    line (from ``earlier``) and ledger row are taken over, not rendered again."""
    report, lang = job.report, job.lang
    results = scoring.score_agents(report.ruleset, agents, job.teams)
    explainers = {lang: explain.Explainer(report.ruleset, lang)}
    mine, parts = job.plan(results), packaging.Parts()
    cards.make_folders(mine, folder)
    sealer = seal.Sealer(job.secret, reuse.fingerprint) if job.secret else None
    put = {card.result.agent.agent_id: (card, cards.put(card, folder, report.out_dir, report.timeline,
                                                        explainers[lang], parts, sealer)) for card in mine}
    kept = {card.result.agent.agent_id for card in mine
            if store is not None and reuse.row_copied(card.reuse, store.previous_id)}
    out.kept += sum(card.reuse for card in mine)
    taken = kept & earlier.spans.keys() if earlier is not None else set()
    lines: dict[str, bytes | results_json.Taken] = {}
    for result in results:
        agent_id, row = result.agent.agent_id, table.row(result, lang)
        encoded = table.encoded(row)
        out.payroll.append(row)
        out.seals.append((agent_id, table.seal(encoded)))
        if agent_id in taken:
            lines[agent_id] = results_json.Taken(agent_id)
        else:
            lines[agent_id] = results_json.line(report.ruleset, result, lang, explain.texts(explainers, result)[lang])
        if store is not None:
            _store_row(out, store, result, put.get(agent_id), agent_id in kept, (keys[agent_id], encoded))
    return lines


def _store_row(out: _Chunk, store: _Store, result, put: tuple | None, kept: bool, keyed: tuple[str, str]) -> None:
    """The agent's ledger row into ``out``: copied from the last revision when ``kept`` (its
    scorecard key, which covers everything the fingerprint does, has not changed: neither has
    that); ``keyed`` is its input key and encoded payroll row (:func:`kpi.core.table.encoded`)."""
    key, row = keyed
    if kept:
        out.copies.append(revisions.copied_row(store.revision_id, result.agent, store.previous_id, key, row))
        return
    sealed = reuse.fingerprint(result)
    out.fingerprints.append((result.agent.agent_id, sealed))
    columns = revisions.NO_CARD if put is None else (put[0].key, put[0].revision, put[1], str(put[0].path))
    sha256, body = explanations.stored_records(result)
    out.records.append((sha256, body))
    out.rows.append(revisions.result_row(store.revision_id, result, sealed, sha256, store.ruleset, columns, key, row))


def _earlier_lines(job: _Job) -> results_json.Earlier | None:
    """The last revision's results.json (same month, same language), to take lines over from."""
    report = job.report
    if not job.previous:
        return None
    earlier = results_json.index(report.out_dir / "results.json")
    usable = reuse.lines_usable(earlier and earlier.head, report.ruleset.period, job.lang, report.revision)
    return earlier if usable else None


ROSTER_FIELDS = ("agent_id", "name", "team", "level", "base_pay", "performance_pay", "sales_last_month")


def read_roster(path: str | Path, ruleset: rules.Ruleset) -> list:
    """The agents of a roster (id, name, team, level, optional pay and last month's sales)."""
    subset = ruleset.with_fields(tuple(f for f in ruleset.fields if f.id in ROSTER_FIELDS))
    return validate(Path(path), subset, same_month=False).agents


def write_template(roster_path: str | Path, ruleset: rules.Ruleset, out_path: str | Path,
                   notes: list[str], lang: str, ledger: Ledger | None = None) -> int:
    """Write the month's fill-in workbook for the roster; returns the agent count."""
    return write_template_report(roster_path, ruleset, out_path, notes, lang, ledger).count


class TemplateReport(NamedTuple):
    """What writing the fill-in workbook did: agents written, and those whose roster said
    another 上月销售额 than the ledger's closed month (the ledger's figure was written)."""

    count: int
    differs: list


def write_template_report(roster_path: str | Path, ruleset: rules.Ruleset, out_path: str | Path,
                          notes: list[str], lang: str, ledger: Ledger | None = None) -> TemplateReport:
    """Write the month's fill-in workbook for the roster.

    With a ledger that holds last month, each agent's level becomes the one
    closing gave them and last month's sales are filled in (:func:`carryover.prefill_report`).
    """
    roster, differs = read_roster(roster_path, ruleset), []
    if ledger is not None:
        roster, differs = carryover.prefill_report(ledger, ruleset.period, roster)
    accounts = read_roster_accounts(roster_path, ruleset)
    with staged_file(Path(out_path)) as staging:
        template.write(staging, roster, ruleset, notes, lang, accounts)
    return TemplateReport(len(roster), differs)


def read_roster_accounts(path: str | Path, ruleset: rules.Ruleset) -> dict[str, tuple[str, ...]] | None:
    """工号 → 旺旺 accounts from the roster's optional 旺旺账号 column; None when it has none."""
    agent_id = ruleset.field("agent_id")
    headers = (inputs.normalise_header(h) for h in (agent_id.id, agent_id.label.zh, agent_id.label.en,
                                                    *agent_id.aliases))
    return imports.roster_accounts(readers.read(Path(path)), tuple(headers))


def close(ledger: Ledger, ruleset: rules.Ruleset, out_dir: str | Path | None, lang: str,
          force_reason: str | None, today: datetime.date, by: str | None = None,
          encoding: str | None = None) -> tuple[Path, dict]:
    """Close the month in the ledger and write HR's payroll, xlsx and CSV with the same columns
    (confirmation state, next level, HR flag); the CSV in ``encoding`` (default the config's).
    A CSV the encoding cannot write leaves the month open (ReviewError csv_not_encodable)."""
    period = ruleset.period
    path = (Path(out_dir) if out_dir else Path("kpi-out") / period) / f"payroll-{period}.xlsx"
    line = calendar.for_rules(ruleset)

    deadline = line.date("confirm_deadline")

    def write_payroll(moves) -> None:
        latest = revisions.latest_revision(ledger, period)
        states = {s.agent_id: i18n.text(f"state_{s.state}", lang)
                  for s in answers.status(ledger, period, deadline, today)}
        levels = {a: (m.level_to, i18n.text(f"flag_{m.flag}", lang).strip() if m.flag else "") for a, m in moves.items()}
        rows = table.closed_payroll(revisions.results_of(ledger, latest["id"], explain=False), states, levels, lang)
        columns = table.COLUMNS + table.CLOSING
        with staged_file(path) as staging, staged_file(path.with_suffix(".csv")) as staged_csv:
            payroll.write_xlsx(staging, rows, ruleset, line, lang, columns)
            try:
                payroll.write_csv(staged_csv, rows, lang, columns, encoding or ruleset.pay.payroll.csv_encoding)
            except payroll.NotEncodable as error:
                raise revisions.ReviewError("csv_not_encodable", encoding=error.encoding, agent=error.agent,
                                         text=error.text) from None

    return path, closing.close(ledger, ruleset, force_reason, write_payroll, deadline=deadline, today=today, by=by)


def generated_passwords(agent_ids, length: int = 10) -> dict[str, str]:
    """A random password per agent, from letters and digits that are hard to misread."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
    return {agent_id: "".join(secrets.choice(alphabet) for _ in range(length)) for agent_id in agent_ids}


def read_passwords(path: str | Path, ruleset: rules.Ruleset) -> dict[str, str]:
    """agent id → password from an HR file with the columns 工号 and password (密码)."""
    field = rules.InputField(id="password", label=rules.Label(zh="密码", en="Password"), type="text", required=True)
    subset = ruleset.with_fields((ruleset.field("agent_id"), field))
    found = Passwords((agent.agent_id, agent.values["password"]) for agent in validate(Path(path), subset).agents)
    found.source = Path(path).name
    return found


def require_passwords(agents, passwords: dict[str, str]) -> None:
    """Every card encrypted, or none: refuse (naming them) when an agent of the month has no password."""
    missing = [agent.agent_id for agent in agents if not passwords.get(agent.agent_id)]
    if missing:
        source = getattr(passwords, "source", "")
        raise InputError([InputProblem(agent_id, "", source, "", "password_missing", (("agent", agent_id),))
                          for agent_id in missing])


class Passwords(dict):
    """agent id → password, remembering the file they came from (for problems)."""

    source = ""


def write_passwords(path: Path, rows: list[table.Row], passwords: dict[str, str], lang: str) -> None:
    """The HR-only list of scorecard passwords, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with open(handle, "w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([i18n.text("col_agent_id", lang), i18n.text("col_name", lang), i18n.text("col_password", lang)])
        for row in rows:
            writer.writerow([safe.csv_cell(row.agent_id), safe.csv_cell(row.name),
                             safe.csv_cell(passwords.get(row.agent_id, ""))])


# ---- issue 23: files made from the ledger on request (the web workspace's downloads)
def stored_agents(ledger: Ledger, revision_id: int) -> list[inputs.AgentInput]:
    """The agents of a stored revision as they were scored (identity, values, where they came from)."""
    agents = []
    for agent_id, row in revisions.results_of(ledger, revision_id, explain=False).items():
        stored = row["inputs"]
        values = {k: (None if v is None else numbers.D(v)) for k, v in stored.get("values", {}).items()}
        agents.append(inputs.AgentInput(agent_id, row["name"], row["team"], row["level"], values,
                                        stored.get("origin", ""), stored.get("filled", {})))
    return agents


def scorecard_file(ledger: Ledger, ruleset: rules.Ruleset, agent_id: str, lang: str, path: str | Path) -> bool:
    """Write the scorecard of ``agent_id`` in the month's counting revision to ``path``, scored
    again from the inputs the ledger stored in their team's context (the same result: the
    same inputs and rules), its items being the records the ledger keeps (rows stored before
    it kept records: the items scored again). False when the month has no such agent."""
    latest = revisions.latest_revision(ledger, ruleset.period)
    if latest is None:
        return False
    agents = stored_agents(ledger, latest["id"])
    mine = [agent for agent in agents if agent.agent_id == agent_id]
    if not mine:
        return False
    result = scoring.score_agents(ruleset, mine, scoring.contexts(ruleset, agents))[0]
    stored = explanations.stored_items(ledger, latest["id"], agent_id, ruleset)
    if stored is not None:
        result = result._replace(items=stored)
    scorecard.write(Path(path), result, ruleset, calendar.for_rules(ruleset), lang, latest["revision"])
    return True


def payroll_file(ledger: Ledger, ruleset: rules.Ruleset, lang: str, path: str | Path, kind: str,
                 today: datetime.date) -> None:
    """HR's payroll of the month's counting revision as ``kind`` (xlsx or csv) at ``path``, with
    each agent's confirmation state, and the next levels once the month is closed."""
    period = ruleset.period
    latest = revisions.latest_revision(ledger, period)
    if latest is None:
        raise revisions.ReviewError("month_not_scored", period=period)
    line = calendar.for_rules(ruleset)
    states = {s.agent_id: i18n.text(f"state_{s.state}", lang)
              for s in answers.status(ledger, period, line.date("confirm_deadline"), today)}
    closed = revisions.month_status(ledger, period) == "closed"
    levels = {a: (r["level_to"], i18n.text(f"flag_{r['flag']}", lang).strip() if r["flag"] else "")
              for a, r in closing.next_levels(ledger, period).items()} if closed else {}
    rows = table.closed_payroll(revisions.results_of(ledger, latest["id"], explain=False), states, levels, lang)
    if kind == "xlsx":
        payroll.write_xlsx(Path(path), rows, ruleset, line, lang, table.COLUMNS + (table.CLOSING if closed else ()))
    else:
        payroll.write_csv(Path(path), rows, lang)
