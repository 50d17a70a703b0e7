"""The ``kpi`` command line: parse options, call the library, render the result.

Every command's logic lives in the ``kpi`` package; this module only turns
options into a call and the result (or a :mod:`kpi.errors` error) into text
and an exit code: 0 success, 1 input or config problem, 2 usage error,
70 internal error. Help texts live in ``kpi/messages.toml`` (``help_*``) and
are shown in the language of ``--lang`` or ``KPI_LANG``.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import sys
from pathlib import Path

import click

from kpi import calendar, config, i18n, ledger, month, readers, review, terminal
from kpi.errors import ConfigError, InputError
from kpi.ledger import LedgerError
from kpi.review import ReviewError

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
EXIT_INTERNAL = 70
EXIT_BROKEN_PIPE = 141
EXIT_INTERRUPTED = 130


class KpiGroup(click.Group):
    """The root command: safe console output, localized help, no traceback for users."""

    def main(self, args=None, *rest, **kwargs):
        for stream in (sys.stdout, sys.stderr):
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(errors="replace")
        with i18n.click_language(requested_lang(sys.argv[1:] if args is None else args)):
            return super().main(args, *rest, **kwargs)

    def parse_args(self, ctx, args):
        localize(self, requested_lang(args))
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:  # Ctrl-C: the ledger rolled back, staged output was removed
            click.echo("\n" + i18n.text("interrupted", requested_lang(sys.argv[1:])), err=True)
            sys.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:  # the reader went away (kpi status | head): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(EXIT_BROKEN_PIPE)
        except Exception as error:  # a bug: say so in one line, keep the traceback for KPI_DEBUG
            if os.environ.get("KPI_DEBUG"):
                raise
            lang = requested_lang(sys.argv[1:])
            click.echo(i18n.text("internal_error", lang, error=f"{type(error).__name__}: {error}"), err=True)
            sys.exit(EXIT_INTERNAL)


def requested_lang(args) -> str:
    """The language asked for on the command line (--lang), else by KPI_LANG, else zh."""
    args = list(args)
    for index, arg in enumerate(args):
        if arg == "--lang" and index + 1 < len(args) and args[index + 1] in i18n.LANGS:
            return args[index + 1]
        if arg.startswith("--lang=") and arg[7:] in i18n.LANGS:
            return arg[7:]
    return i18n.lang_from_env()


def localize(command: click.Command, lang: str) -> None:
    """Set the help of ``command``, its options and subcommands from the message file."""
    command.help = i18n.text(f"help_{command.name}", lang)
    command.short_help = command.help.split("\n", 1)[0]
    for param in command.params:
        key = getattr(param, "help_key", None)
        if key:
            param.help = i18n.text(key, lang)
    for sub in getattr(command, "commands", {}).values():
        localize(sub, lang)


class KeyedOption(click.Option):
    """An option whose help is a message key, filled in by :func:`localize`."""

    def __init__(self, *args, help_key: str, **kwargs):
        super().__init__(*args, help=i18n.text(help_key, "en"), **kwargs)
        self.help_key = help_key


def option(*names, key: str, **kwargs):
    return click.option(*names, cls=KeyedOption, help_key=key, **kwargs)


def _period(ctx, param, value):
    if value is not None and not PERIOD.match(value):
        raise click.BadParameter(i18n.text("period_invalid", requested_lang(sys.argv[1:])))
    return value


def period_option(func):
    return option("--period", required=True, callback=_period, key="help_opt_period")(func)


def config_option(func):
    return option("--config", "config_dir", type=click.Path(file_okay=False), envvar="KPI_CONFIG",
                  key="help_opt_config")(func)


def lang_option(func):
    return option("--lang", type=click.Choice(i18n.LANGS), envvar="KPI_LANG", default=i18n.DEFAULT,
                  show_default=True, key="help_opt_lang")(func)


def db_option(func):
    return option("--db", "db_path", type=click.Path(dir_okay=False), envvar="KPI_DB", key="help_opt_db")(func)


@contextlib.contextmanager
def ledger_session(db_path, lang: str, create: bool = True):
    """The open ledger; a ledger or review error ends the command with its message and exit 1.

    With ``create=False`` a missing ledger is not created: the session yields None.
    """
    if not create and not ledger.resolve(db_path).exists():
        yield None
        return
    try:
        with ledger.Ledger(db_path) as book:
            yield book
    except (LedgerError, ReviewError) as error:
        fail_review(error, lang)


def fail_review(error, lang: str):
    click.echo(terminal.error_text(error, lang), err=True)
    sys.exit(1)


@contextlib.contextmanager
def progress_bar(lang: str):
    """A progress callback: a bar per stage with counts and ETA on a terminal, nothing otherwise."""
    if not sys.stderr.isatty():
        yield lambda stage, done, total: None
        return
    current: list = [None, None]   # the stage shown and its bar

    def update(stage: str, done: int, total: int) -> None:
        if current[0] != stage:
            if current[1] is not None:
                current[1].__exit__(None, None, None)
            current[:] = [stage, click.progressbar(length=total, label=i18n.text(f"progress_{stage}", lang),
                                                   show_pos=True, show_eta=True, file=sys.stderr).__enter__()]
        current[1].update(done - current[1].pos)

    try:
        yield update
    finally:
        if current[1] is not None:
            current[1].__exit__(None, None, None)


def today() -> datetime.date:
    """Today, or ``KPI_TODAY`` (YYYY-MM-DD) when set, for reproducible status reports."""
    fixed = os.environ.get("KPI_TODAY")
    return datetime.date.fromisoformat(fixed) if fixed else datetime.date.today()


def echo_lines(lines, err: bool = False) -> None:
    for line in lines:
        click.echo(line, err=err)


def fail_config(error: ConfigError, lang: str):
    click.echo(f"{i18n.text('config_error', lang)} {error.render()}", err=True)
    sys.exit(1)


def fail_input(error: InputError, ruleset, lang: str):
    echo_lines(terminal.problems(error.problems, ruleset, lang), err=True)
    sys.exit(1)


def load_rules(config_dir, period: str, lang: str):
    """The ruleset for ``period``, or exit 1 with the config error."""
    try:
        return config.load(config_dir, period)
    except ConfigError as error:
        fail_config(error, lang)


@click.group(cls=KpiGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kpi")
def main():
    """kpi: monthly performance scores and payroll for customer-service teams."""


@main.command()
@click.argument("input_file", metavar="INPUT", type=click.Path(dir_okay=False))
@period_option
@option("--out", "out_dir", type=click.Path(file_okay=False), key="help_opt_out")
@option("--jobs", type=click.IntRange(1, 64), default=os.cpu_count() or 1, show_default=True, key="help_opt_jobs")
@option("--no-scorecards", "no_scorecards", is_flag=True, key="help_opt_no_scorecards")
@option("--encrypt", is_flag=True, key="help_opt_encrypt")
@option("--passwords", "passwords_file", type=click.Path(dir_okay=False), key="help_opt_passwords")
@config_option
@db_option
@lang_option
def score(input_file, period, out_dir, jobs, no_scorecards, encrypt, passwords_file, config_dir, db_path, lang):
    """Score a filled sheet and write results, payroll, team summary and scorecards."""
    ruleset = load_rules(config_dir, period, lang)
    with ledger_session(db_path, lang) as book, progress_bar(lang) as progress:
        try:
            passwords = _passwords(encrypt, passwords_file, input_file, ruleset)
            report = month.score(input_file, ruleset, out_dir, lang, book, jobs=jobs,
                                 scorecards=not no_scorecards, progress=progress, passwords=passwords)
        except InputError as error:
            fail_input(error, ruleset, lang)
        except OSError as error:
            click.echo(i18n.text("output_error", lang, path=out_dir or f"kpi-out/{period}", reason=error.strerror),
                       err=True)
            sys.exit(1)
    echo_lines(terminal.summary(report, lang) + terminal.recorded(report, book.path, lang))


def _passwords(encrypt: bool, passwords_file, input_file, ruleset):
    """Scorecard passwords: none, HR's file (``--passwords``), or generated for every agent."""
    if not encrypt:
        return None
    if passwords_file:
        return month.read_passwords(passwords_file, ruleset)
    return month.generated_passwords(a.agent_id for a in month.validate(input_file, ruleset).agents)


@main.command()
@click.argument("input_file", metavar="INPUT", type=click.Path(dir_okay=False))
@period_option
@config_option
@lang_option
def check(input_file, period, config_dir, lang):
    """Check a filled sheet without writing anything."""
    ruleset = load_rules(config_dir, period, lang)
    try:
        parsed = month.validate(input_file, ruleset)
    except InputError as error:
        fail_input(error, ruleset, lang)
    echo_lines(terminal.notices(parsed.notices, ruleset, lang))
    click.echo(terminal.check_ok(parsed, ruleset, lang))


@main.command()
@period_option
@option("--roster", "roster_file", required=True, type=click.Path(dir_okay=False), key="help_opt_roster")
@option("-o", "--output", "out_file", type=click.Path(dir_okay=False), key="help_opt_output")
@config_option
@db_option
@lang_option
def template(period, roster_file, out_file, config_dir, db_path, lang):
    """Write the month's fill-in workbook (填报表) for a roster."""
    ruleset = load_rules(config_dir, period, lang)
    out_file = out_file or f"{i18n.text('template_sheet', lang)}-{period}.xlsx"
    line = calendar.for_rules(ruleset)
    notes = terminal.rulebook(ruleset, lang) + terminal.timeline(line, lang) + terminal.timeline_warnings(line, lang)
    with ledger_session(db_path, lang, create=False) as book:
        try:
            count = month.write_template(roster_file, ruleset, out_file, notes, lang, book)
        except InputError as error:
            fail_input(error, ruleset, lang)
    click.echo(i18n.text("template_written", lang, path=out_file, count=count))


@main.command()
@click.argument("paths", metavar="FILES_OR_DIR", nargs=-1, required=True, type=click.Path(exists=True))
@period_option
@db_option
@lang_option
def collect(paths, period, db_path, lang):
    """Record the answers on returned scorecards."""
    cards, problems = [], []
    for path in _xlsx_files(paths):
        try:
            cards.append(readers.read_scorecard(path))
        except InputError as error:
            problems.extend(error.problems)
    with ledger_session(db_path, lang) as book:
        outcome = review.collect(book, period, cards)
    if problems:
        echo_lines(terminal.problems(problems, None, lang)[1:], err=True)
    echo_lines(terminal.collected(outcome, lang))
    if outcome.refused or problems:
        sys.exit(1)


def _xlsx_files(paths):
    """The .xlsx files named, and those below the directories named (Excel's ~$ lock files skipped)."""
    for name in paths:
        path = Path(name)
        found = sorted(path.rglob("*.xlsx")) if path.is_dir() else [path]
        yield from (p for p in found if not p.name.startswith("~$"))


@main.command()
@click.argument("agent_id", metavar="AGENT")
@period_option
@db_option
@lang_option
def confirm(agent_id, period, db_path, lang):
    """Record an agent's confirmation given in person."""
    _answer(review.Answer(agent_id, "confirm", "", "in person"), period, db_path, lang)


@main.command("object")
@click.argument("agent_id", metavar="AGENT")
@period_option
@option("--reason", required=True, key="help_opt_reason")
@db_option
@lang_option
def object_command(agent_id, period, reason, db_path, lang):
    """Record an agent's objection given in person."""
    _answer(review.Answer(agent_id, "object", reason, "in person"), period, db_path, lang)


def _answer(given, period, db_path, lang):
    with ledger_session(db_path, lang) as book:
        review.answer(book, period, given)
    click.echo(i18n.text("answer_recorded", lang, period=period, agent=given.agent_id,
                         answer=i18n.text(f"answer_{given.answer}", lang)))


@main.command()
@click.argument("period", callback=_period, metavar="YYYY-MM")
@config_option
@db_option
@lang_option
def status(period, config_dir, db_path, lang):
    """Show per team who confirmed, who objected and who has not answered."""
    deadline = calendar.for_rules(load_rules(config_dir, period, lang)).date("confirm_deadline")
    with ledger_session(db_path, lang) as book:
        found = review.status(book, period, deadline, today())
        revision = review.latest_revision(book, period)["revision"]
        closed = review.month_status(book, period) == "closed"
    echo_lines(terminal.status_lines(period, revision, deadline, found, lang))
    if closed:
        click.echo(i18n.text("status_month_closed", lang, period=period, revision=revision))


@main.command()
@click.argument("agent_id", metavar="AGENT")
@period_option
@click.argument("change", type=click.Choice(["+1", "0"]), metavar="+1|0")
@db_option
@lang_option
def level(agent_id, period, change, db_path, lang):
    """Record the supervisor's decision on a "+1 or no change" recommendation."""
    with ledger_session(db_path, lang) as book:
        review.decide_level(book, period, agent_id, change)
    click.echo(i18n.text("level_recorded", lang, period=period, agent=agent_id, change=change))


@main.command()
@click.argument("period", callback=_period, metavar="YYYY-MM")
@option("--force", is_flag=True, key="help_opt_force")
@option("--reason", key="help_opt_force_reason")
@option("--out", "out_dir", type=click.Path(file_okay=False), key="help_opt_out")
@config_option
@db_option
@lang_option
def close(period, force, reason, out_dir, config_dir, db_path, lang):
    """Close the month: final payroll for HR and next month's levels."""
    if force and not (reason or "").strip():
        raise click.UsageError(i18n.text("force_needs_reason", lang))
    ruleset = load_rules(config_dir, period, lang)
    with ledger_session(db_path, lang) as book:
        path, moves = month.close(book, ruleset, out_dir, lang, reason if force else None, today())
        closed = review.latest_revision(book, period)
        names = {a: r["name"] for a, r in review.results_of(book, closed["id"]).items()}
    echo_lines(terminal.close_lines(period, closed["revision"], path, moves, names, reason if force else None, lang))


@main.command()
@click.argument("period", callback=_period, metavar="YYYY-MM")
@option("--reason", required=True, key="help_opt_reopen_reason")
@db_option
@lang_option
def reopen(period, reason, db_path, lang):
    """Reopen a closed month (recorded in the audit log)."""
    with ledger_session(db_path, lang) as book:
        review.reopen(book, period, reason)
    click.echo(i18n.text("reopen_done", lang, period=period))


@main.command()
@click.argument("agent_id", metavar="[AGENT]", required=False)
@db_option
@lang_option
def history(agent_id, db_path, lang):
    """Show an agent's months, or every scored month."""
    with ledger_session(db_path, lang) as book:
        if agent_id:
            echo_lines(terminal.history_lines(agent_id, review.history(book, agent_id), lang))
        else:
            echo_lines(terminal.months_lines(review.months(book), lang))


@main.command()
@click.argument("agent_id", metavar="AGENT")
@period_option
@option("--revision", type=int, key="help_opt_revision")
@db_option
@lang_option
def show(agent_id, period, revision, db_path, lang):
    """Show one agent's stored result with every explanation."""
    with ledger_session(db_path, lang) as book:
        found = review.revision_of(book, period, revision)
        row = review.results_of(book, found["id"], agent_id).get(agent_id)
    if row is None:
        fail_review(ReviewError("unknown_agent", agent=agent_id, period=period), lang)
    echo_lines(terminal.show_lines(period, found["revision"], row, lang))


@main.command("rules")
@option("--period", callback=_period, key="help_opt_rules_period")
@option("--rules", "rules_dir", type=click.Path(), key="help_opt_rules_rules")
@option("--diff", is_flag=True, key="help_opt_rules_diff")
@config_option
@lang_option
def rules_command(period, rules_dir, diff, config_dir, lang):
    """Print the assessment table in force for a month, with sources."""
    period = period or datetime.date.today().strftime("%Y-%m")
    ruleset = load_rules(config_dir, period, lang)
    if diff and not rules_dir:
        raise click.UsageError(i18n.text("diff_needs_rules", lang))
    if rules_dir:  # ---- issue 24: a proposal, whole or as its differences
        from kpi import proposal, rulediff, whatif_render
        try:
            proposed = proposal.ruleset(proposal.read(rules_dir), config_dir, period)
        except proposal.ProposalError as error:
            fail_proposal(error, lang)
        if diff:
            echo_lines(whatif_render.diff_lines(rulediff.differences(ruleset, proposed), rules_dir, period, lang))
            return
        ruleset = proposed
    echo_lines(terminal.rulebook(ruleset, lang))


@main.command("timeline")
@click.argument("period", callback=_period, metavar="YYYY-MM")
@option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
        key="help_opt_format")
@config_option
@db_option
@lang_option
def timeline_command(period, fmt, config_dir, db_path, lang):
    """Print the review timeline of a month on the working-day calendar."""
    from kpi import proposal

    line = calendar.for_rules(load_rules(config_dir, period, lang))
    echo_lines(terminal.timeline_warnings(line, lang), err=True)
    with ledger_session(db_path, lang, create=False) as book:  # issue 24: revisions adopted in its review
        adopted = _adopted_lines(book, line, lang)
        entries = [] if book is None else proposal.adoptions(book, period)
    if fmt == "json":
        document = terminal.timeline_json(line)
        if entries:
            document["revisions_adopted"] = [{k: e[k] for k in ("effective", "adopted_on", "who", "files")}
                                             for e in entries]
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        echo_lines(terminal.timeline(line, lang) + adopted)


# ---- issue 24
def _periods(ctx, param, values):
    for value in values:
        _period(ctx, param, value)
    return values


def fail_proposal(error, lang: str):
    click.echo(i18n.text("proposal_errors", lang, count=len(error.errors)), err=True)
    for problem in error.errors:
        echo_lines(("  " + line for line in problem.render().splitlines()), err=True)
    sys.exit(1)


@main.command("whatif")
@option("--rules", "rules_dir", required=True, type=click.Path(), key="help_opt_whatif_rules")
@option("--period", "periods", multiple=True, callback=_periods, key="help_opt_whatif_periods")
@option("--from", "first", callback=_period, key="help_opt_whatif_from")
@option("--to", "last", callback=_period, key="help_opt_whatif_to")
@option("--out", "out_file", type=click.Path(dir_okay=False), key="help_opt_whatif_out")
@option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
        key="help_opt_format")
@config_option
@db_option
@lang_option
def whatif_command(rules_dir, periods, first, last, out_file, fmt, config_dir, db_path, lang):
    """Re-score stored months under proposed rules and compare with what was scored."""
    from kpi import proposal, scored, whatif_render
    from kpi.whatif import WhatifError
    from kpi.writers import whatif as whatif_xlsx

    if bool(first) != bool(last):
        raise click.UsageError(i18n.text("whatif_periods_needed", lang))
    wanted = list(periods) + (scored.periods_between(first, last) if first else [])
    if not wanted:
        raise click.UsageError(i18n.text("whatif_periods_needed", lang))
    if out_file and not out_file.lower().endswith(".xlsx"):
        raise click.UsageError(i18n.text("whatif_out_not_xlsx", lang))
    with ledger_session(db_path, lang, create=False) as book:
        if book is None:
            click.echo(i18n.text("whatif_no_ledger", lang, path=ledger.resolve(db_path)), err=True)
            sys.exit(1)
        try:
            comparison = scored.compare(book, wanted, rules_dir, config_dir)
        except proposal.ProposalError as error:
            fail_proposal(error, lang)
        except ConfigError as error:
            fail_config(error, lang)
        except WhatifError as error:
            fail_review(error, lang)
    if out_file:
        try:
            from kpi.output import staged_file
            with staged_file(Path(out_file)) as staging:
                whatif_xlsx.write(staging, comparison, str(rules_dir), lang)
        except OSError as error:
            click.echo(i18n.text("whatif_output_error", lang, path=out_file, reason=error.strerror), err=True)
            sys.exit(1)
    if fmt == "json":
        click.echo(json.dumps(whatif_render.document(comparison, str(rules_dir)), ensure_ascii=False, indent=2))
    else:
        echo_lines(whatif_render.lines(comparison, str(rules_dir), lang))
    if out_file:
        click.echo(i18n.text("whatif_written", lang, path=out_file), err=fmt == "json")


@main.command()
@click.argument("proposal_dir", metavar="DIR", type=click.Path())
@option("--from", "effective", required=True, callback=_period, key="help_opt_adopt_from")
@config_option
@db_option
@lang_option
def adopt(proposal_dir, effective, config_dir, db_path, lang):
    """Write a proposal into the config in use as a new version effective from a month."""
    from kpi import proposal, scored

    folder = config.resolve_dir(config_dir)
    if not config_dir and proposal.shipped_in_package(folder):
        raise click.UsageError(i18n.text("adopt_shipped", lang, path=folder))
    try:
        proposed = proposal.read(proposal_dir)
    except proposal.ProposalError as error:
        fail_proposal(error, lang)
    day = today()
    review_period = proposal.review_period(day)
    with ledger_session(db_path, lang) as book:
        try:
            with book.write() as db:
                months = scored.scored_periods(book)
                files = proposal.adopt(proposed, folder, effective, months)
                ruleset = config.load(folder, effective)
                proposal.record(book, db, effective, {
                    "proposal": str(Path(proposal_dir).resolve()), "config_dir": str(folder.resolve()),
                    "files": files, "effective": effective, "sha256": ruleset.version.sha256,
                    "review_period": review_period, "adopted_on": day.isoformat()})
        except proposal.ProposalError as error:
            fail_proposal(error, lang)
        except proposal.AdoptError as error:
            fail_review(error, lang)
    click.echo(i18n.text("adopt_done", lang, proposal=proposal_dir, config=folder, files=", ".join(files),
                         effective=effective))
    click.echo(i18n.text("adopt_audit", lang, who=ledger.user(), day=day.isoformat(), db=book.path))
    echo_lines(_revision_deadline(folder, review_period, day, lang))


def _revision_deadline(folder, review_period: str, day: datetime.date, lang: str) -> list[str]:
    """The 15th-working-day revision deadline of the month under review, and whether ``day`` keeps it."""
    line = calendar.for_rules(load_rules(folder, review_period, lang))
    step = next((s for s in line.steps if s.id == "revision_deadline"), None)
    if step is None:
        return []
    state = i18n.text("adopt_on_time" if day <= step.date else "adopt_late", lang)
    return [i18n.text("adopt_deadline", lang, period=review_period, date=terminal.day_text(step.date, lang),
                      n=step.working_day, state=state)]


def _adopted_lines(book, line, lang: str) -> list[str]:
    """The revisions adopted during the review of the timeline's month, against its deadline."""
    from kpi import proposal

    if book is None:
        return []
    step = next((s for s in line.steps if s.id == "revision_deadline"), None)
    found = []
    for entry in proposal.adoptions(book, line.period):
        day = datetime.date.fromisoformat(entry["adopted_on"])
        late = step is not None and day > step.date
        found.append(i18n.text("timeline_adopted", lang, effective=entry["effective"], day=entry["adopted_on"],
                               who=entry["who"], state=i18n.text("adopt_late" if late else "adopt_on_time", lang)))
    return found


if __name__ == "__main__":
    main()
