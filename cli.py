"""The ``kpi`` command line: parse options, call the library, render the result.

Every command's logic lives in the ``kpi`` package; this module only turns
options into a call and the result (or a :mod:`kpi.core.errors` error) into text
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
import wcwidth

import kpi
from kpi.core import calendar, i18n, identity
from kpi.io import config, readers, workers
from kpi.render import import_plan, terminal
from kpi.pipeline import intake, month
from kpi.ledger import answers, closing, db as ledger, history as ledger_history, returned_cards, revisions
from kpi.core.errors import OUTPUT, ConfigError, InputError, PeriodError, problems_of, refusal
from kpi.core.period import Period
from kpi.ledger.db import LedgerError
from kpi.ledger.revisions import ReviewError

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
        ctx.meta["kpi_lang"] = requested_lang(args)
        localize(self, ctx.meta["kpi_lang"])
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:  # Ctrl-C: the ledger rolled back, staged output was removed
            click.echo("\n" + i18n.text("interrupted", requested_lang(sys.argv[1:])), err=True)
            sys.exit(EXIT_INTERRUPTED)
        except workers.WorkerDied as error:  # killed or out of memory: the run was undone, say so
            click.echo(i18n.text("worker_died", requested_lang(sys.argv[1:]), signal=error.signal_name), err=True)
            sys.exit(EXIT_INTERNAL)
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


class HelpFormatter(click.HelpFormatter):
    """click's help layout, wrapping option help between CJK characters and at spaces but never
    inside an ASCII word (a file name or an option), by display width, closing punctuation kept
    on its line."""

    CJK = "\u2e80-\u9fff\u3000-\u303f\uff00-\uffef"
    CHUNKS = re.compile(rf"\s+|[{CJK}]|[,.;:)!?\]]+|[^\s{CJK}]+")
    CLOSING = set("\u3002\uff0c\u3001\uff1b\uff1a\uff09\u3011\u300d\u300b\uff01\uff1f\u201d\u2019,.;:)!?]")

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = list(rows)
        first_col = min(max((len(first) for first, _ in rows), default=0), col_max) + col_spacing
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if len(first) <= first_col - col_spacing:
                self.write(" " * (first_col - len(first)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            lines = self.wrap(second, max(self.width - first_col - 2, 10))
            self.write(lines[0] + "\n")
            for line in lines[1:]:
                self.write(f"{'':>{first_col + self.current_indent}}{line}\n")

    @classmethod
    def wrap(cls, text: str, width: int) -> list[str]:
        lines, line, used = [], "", 0
        for chunk in cls.CHUNKS.findall(text):
            if chunk.isspace():
                if line:
                    line, used = line + " ", used + 1
                continue
            size = wcwidth.wcswidth(chunk)
            if used + size > width and line.strip() and chunk[0] not in cls.CLOSING:
                lines.append(line.rstrip())
                line, used = "", 0
            line, used = line + chunk, used + size
        return lines + [line.rstrip()]


class KpiContext(click.Context):
    formatter_class = HelpFormatter


def _show_version(ctx, param, value):
    """``--version`` in the language asked for."""
    if value and not ctx.resilient_parsing:
        click.echo(i18n.text("version_text", ctx.meta.get("kpi_lang", i18n.DEFAULT), version=kpi.__version__))
        ctx.exit()


def localize(command: click.Command, lang: str) -> None:
    """Set the help of ``command``, its options and subcommands from the message file."""
    command.context_class = KpiContext
    command.help = i18n.text(getattr(command, "help_key", None) or f"help_{command.name}", lang)
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


class PeriodType(click.ParamType):
    """A YYYY-MM month, parsed once here into a :class:`kpi.core.period.Period` that every
    command passes on; anything else is a usage error saying what a period looks like."""

    name = "text"   # shown as TEXT in the help, as before

    def convert(self, value, param, ctx):
        try:
            return Period(value)
        except PeriodError:
            self.fail(i18n.text("period_invalid", requested_lang(sys.argv[1:])), param, ctx)


PERIOD = PeriodType()


def period_option(func):
    return option("--period", required=True, type=PERIOD, key="help_opt_period")(func)


def config_option(func):
    return option("--config", "config_dir", type=click.Path(file_okay=False), envvar="KPI_CONFIG",
                  key="help_opt_config")(func)


def lang_option(func):
    return option("--lang", type=click.Choice(i18n.LANGS), envvar="KPI_LANG", default=i18n.DEFAULT,
                  show_default=True, key="help_opt_lang")(func)


def sheet_option(func):
    """``--sheet NAME``: the workbook's sheet to read (issue 19)."""
    return option("--sheet", key="help_opt_sheet")(func)


def db_option(func):
    return option("--db", "db_path", type=click.Path(dir_okay=False), envvar="KPI_DB", key="help_opt_db")(func)


@contextlib.contextmanager
def ledger_session(db_path, lang: str, create: bool | str = True):
    """The open ledger; a ledger or review error ends the command with its message and exit 1.

    With ``create=False`` a missing ledger is not created: the session yields None; with
    ``create="existing"`` (read-only commands) a missing ledger ends the command, saying
    where it looked.
    """
    if create == "existing" and not ledger.resolve(db_path).exists():   # a read-only command
        fail(LedgerError("ledger_missing", path=str(ledger.resolve(db_path))), lang)
    if not create and not ledger.resolve(db_path).exists():
        yield None
        return
    existed, done = ledger.resolve(db_path).exists(), False
    try:
        with ledger.Ledger(db_path) as book:
            yield book
        done = True
    except (LedgerError, ReviewError) as error:
        fail(error, lang)
    finally:
        if not existed and not done:  # a failed command leaves no ledger where there was none
            ledger.discard_if_empty(db_path)


def fail(error, lang: str, ruleset=None, header: bool | str = True):
    """End the command with exit 1, saying every problem of ``error``: any of kpi's errors (input,
    config, proposal, the ledger's and the month's refusals) or a list of Problem records. The only
    way this module reports an error: the records are put into words by :func:`terminal.problem_lines`."""
    found = problems_of(error) if isinstance(error, BaseException) else tuple(error)
    echo_lines(terminal.problem_lines(found, lang, ruleset, header), err=True)
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
    """Today in Beijing, or ``KPI_TODAY`` (YYYY-MM-DD) when set (:func:`kpi.io.clock.today`)."""
    from kpi.io import clock

    return clock.today()


def echo_lines(lines, err: bool = False) -> None:
    """Print lines; control characters in them (from names, teams, reasons) are shown escaped."""
    for line in lines:
        click.echo(terminal.inert(line), err=err)


def load_rules(config_dir, period: Period, lang: str):
    """The ruleset for ``period``, or exit 1 with the config error."""
    try:
        return config.load(config_dir, period)
    except ConfigError as error:
        fail(error, lang)


def load_calendar(config_dir, period: Period, lang: str):
    """The calendar config in force for ``period`` (calendar.toml alone), or exit 1 with the config error."""
    try:
        return config.load_calendar(config_dir, period)
    except ConfigError as error:
        fail(error, lang)


@click.group(cls=KpiGroup, context_settings={"help_option_names": ["-h", "--help"]})
@option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_show_version, key="help_opt_version")
@option("--lang", type=click.Choice(i18n.LANGS), expose_value=False, is_eager=True, key="help_opt_lang_main")
def main():
    """kpi: monthly performance scores and payroll for customer-service teams."""


@main.command()
@click.argument("input_files", metavar="INPUT", nargs=-1, required=True, type=click.Path(dir_okay=False))
@period_option
@option("--out", "out_dir", type=click.Path(file_okay=False), key="help_opt_out")
@option("--jobs", type=click.IntRange(1, 64), default=os.cpu_count() or 1, key="help_opt_jobs")
@option("--no-scorecards", "no_scorecards", is_flag=True, key="help_opt_no_scorecards")
@option("--encrypt", is_flag=True, key="help_opt_encrypt")
@option("--passwords", "passwords_file", type=click.Path(dir_okay=False), key="help_opt_passwords")
@sheet_option
@config_option
@db_option
@lang_option
def score(input_files, period, out_dir, jobs, no_scorecards, encrypt, passwords_file, sheet, config_dir, db_path, lang):
    """Score a filled sheet (or one sheet per team) and write results, payroll, team summary and scorecards."""
    input_file = list(input_files) if len(input_files) > 1 else input_files[0]
    ruleset = load_rules(config_dir, period, lang)
    with ledger_session(db_path, lang) as book, progress_bar(lang) as progress:
        try:
            passwords = _passwords(encrypt, passwords_file, input_file, ruleset, sheet)
            report = month.score(input_file, ruleset, out_dir, lang, book, jobs=jobs,
                                 scorecards=not no_scorecards, progress=progress, passwords=passwords, sheet=sheet)
        except InputError as error:
            fail(error, lang, ruleset)
        except OSError as error:
            fail([refusal("output_error", {"path": out_dir or f"kpi-out/{period}", "reason": error.strerror},
                          source=OUTPUT)], lang)
    echo_lines(terminal.summary(report, lang) + terminal.recorded(report, book.path, lang))


def _passwords(encrypt: bool, passwords_file, input_file, ruleset, sheet=None):
    """Scorecard passwords: none, HR's file (``--passwords``), or generated for every agent."""
    if not encrypt:
        return None
    if passwords_file:
        return month.read_passwords(passwords_file, ruleset)
    return month.generated_passwords(a.agent_id for a in month.validate_all(input_file, ruleset, sheet=sheet).agents)


@main.command()
@click.argument("input_file", metavar="INPUT", type=click.Path(dir_okay=False))
@period_option
@sheet_option
@config_option
@lang_option
def check(input_file, period, sheet, config_dir, lang):
    """Check a filled sheet without writing anything."""
    ruleset = load_rules(config_dir, period, lang)
    try:
        parsed = month.validate(input_file, ruleset, sheet=sheet)
    except InputError as error:
        fail(error, lang, ruleset)
    echo_lines(terminal.notices(parsed.notices, ruleset, lang))
    echo_lines(terminal.implausible_lines(month.plausibility(parsed, ruleset), ruleset, lang))
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
    notes = terminal.rulebook(ruleset, lang, origin=False) + terminal.timeline(line, lang) + terminal.timeline_warnings(line, lang)
    with ledger_session(db_path, lang, create=False) as book:
        try:
            report = month.write_template_report(roster_file, ruleset, out_file, notes, lang, book)
        except InputError as error:
            fail(error, lang, ruleset)
    click.echo(i18n.text("template_written", lang, path=out_file, count=report.count))
    echo_lines(terminal.sales_differs(report.differs, lang))


@main.command()
@click.argument("paths", metavar="FILES_OR_DIR", nargs=-1, required=True, type=click.Path(exists=True))
@period_option
@option("--passwords", "passwords_file", type=click.Path(dir_okay=False), key="help_opt_collect_passwords")
@config_option
@db_option
@lang_option
def collect(paths, period, passwords_file, config_dir, db_path, lang):
    """Record the answers on returned scorecards."""
    passwords = {}
    if passwords_file:
        ruleset = load_rules(config_dir, period, lang)
        try:
            passwords = month.read_passwords(passwords_file, ruleset)
        except InputError as error:
            fail(error, lang, ruleset)
    cards, problems, ignored = [], [], []
    for path, found_in_folder in _returned_files(paths):
        if found_in_folder and path.suffix.lower() != ".xlsx":   # an .xls may be a card saved back the old way
            ignored.append((path.name, readers.old_format(path.suffix.lower()) or "not_xlsx_file"))
            continue
        try:
            cards.append(readers.read_scorecard(path, _card_password(path, passwords)))
        except InputError as error:
            if found_in_folder and error.problems[0].code == "not_scorecard":
                ignored.append((path.name, "not_scorecard"))
            else:
                problems.extend(problems_of(error))
    with ledger_session(db_path, lang) as book:
        outcome = returned_cards.collect(book, period, cards)
    if problems:
        echo_lines(terminal.problem_lines(problems, lang, header=False), err=True)
    echo_lines(terminal.collected(outcome, lang, ignored, unreadable=len(problems)))
    if outcome.refused or problems:
        sys.exit(1)


def _card_password(path: Path, passwords: dict[str, str]) -> str | None:
    """The password of a returned card: its agent's, by the file name kpi gave it (工号-姓名.xlsx)."""
    return passwords.get(path.stem.split("-", 1)[0].strip()) if passwords else None


def _returned_files(paths):
    """(path, whether found in a folder) for the files named and those below the folders named.
    A file named on the command line that is no scorecard is refused; one found in a folder is
    ignored and named (Excel's ~$ lock files and hidden files are skipped silently)."""
    for name in paths:
        path = Path(name)
        if not path.is_dir():
            yield path, False
            continue
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            if not file.name.startswith(("~$", ".")):
                yield file, True


@main.command()
@click.argument("agent_id", metavar="AGENT", callback=lambda ctx, param, value: identity.fold(value))
@period_option
@db_option
@lang_option
def confirm(agent_id, period, db_path, lang):
    """Record an agent's confirmation given in person."""
    _answer(answers.Answer(agent_id, "confirm", "", "in person"), period, db_path, lang)


@main.command("object")
@click.argument("agent_id", metavar="AGENT", callback=lambda ctx, param, value: identity.fold(value))
@period_option
@option("--reason", required=True, key="help_opt_reason")
@db_option
@lang_option
def object_command(agent_id, period, reason, db_path, lang):
    """Record an agent's objection given in person."""
    _answer(answers.Answer(agent_id, "object", reason, "in person"), period, db_path, lang)


def _answer(given, period, db_path, lang):
    with ledger_session(db_path, lang) as book:
        answers.answer(book, period, given)
    echo_lines([i18n.text("answer_recorded", lang, period=period, agent=given.agent_id,
                          answer=i18n.text(f"answer_{given.answer}", lang))])


@main.command()
@click.argument("period", type=PERIOD, metavar="YYYY-MM")
@config_option
@db_option
@lang_option
def status(period, config_dir, db_path, lang):
    """Show per team who confirmed, who objected and who has not answered."""
    line = calendar.for_rules(load_rules(config_dir, period, lang))
    deadline = line.date("confirm_deadline")
    with ledger_session(db_path, lang, create="existing") as book:
        found = answers.status(book, period, deadline, today())
        revision = revisions.latest_revision(book, period)["revision"]
        closed = revisions.month_status(book, period) == "closed"
    echo_lines(terminal.status_lines(period, revision, deadline, found, lang,
                                     terminal.estimate_mark(line, deadline, lang)))
    if closed:
        click.echo(i18n.text("status_month_closed", lang, period=period, revision=revision))


@main.command(context_settings={"ignore_unknown_options": True})  # "-1" is a change, not an option
@click.argument("agent_id", metavar="AGENT", callback=lambda ctx, param, value: identity.fold(value))
@period_option
@click.argument("change", type=click.Choice(["+2", "+1", "0", "-1", "dismiss"]), metavar="+2|+1|0|-1|dismiss")
@db_option
@lang_option
def level(agent_id, period, change, db_path, lang):
    """Record the decision on a level recommendation (+2, +1, 0, -1, dismiss)."""
    with ledger_session(db_path, lang) as book:
        closing.decide_level(book, period, agent_id, change)
    echo_lines([i18n.text("level_recorded", lang, period=period, agent=agent_id, change=change)])


@main.command()
@click.argument("period", type=PERIOD, metavar="YYYY-MM")
@option("--force", is_flag=True, key="help_opt_force")
@option("--reason", key="help_opt_force_reason")
@option("--out", "out_dir", type=click.Path(file_okay=False), key="help_opt_out")
@option("--encoding", type=click.Choice(["utf-8", "gbk", "gb18030"]), key="help_opt_encoding")
@config_option
@db_option
@lang_option
def close(period, force, reason, out_dir, encoding, config_dir, db_path, lang):
    """Close the month: final payroll for HR and next month's levels."""
    if force and not (reason or "").strip():
        raise click.UsageError(i18n.text("force_needs_reason", lang))
    ruleset = load_rules(config_dir, period, lang)
    deadline = calendar.for_rules(ruleset).date("confirm_deadline")
    with ledger_session(db_path, lang) as book:
        with contextlib.suppress(ReviewError):   # a closed or unscored month: closing says why
            if revisions.month_status(book, period) != "closed":
                echo_lines(terminal.closing_lines(closing.closing(book, ruleset, deadline, today()), lang))
        path, moves = month.close(book, ruleset, out_dir, lang, reason if force else None, today(), encoding=encoding)
        closed = revisions.latest_revision(book, period)
        names = {a: r["name"] for a, r in revisions.results_of(book, closed["id"], explain=False).items()}
    echo_lines(terminal.close_lines(period, closed["revision"], path, moves, names, reason if force else None, lang))


@main.command()
@click.argument("period", type=PERIOD, metavar="YYYY-MM")
@option("--reason", required=True, key="help_opt_reopen_reason")
@db_option
@lang_option
def reopen(period, reason, db_path, lang):
    """Reopen a closed month (recorded in the audit log)."""
    with ledger_session(db_path, lang) as book:
        closing.reopen(book, period, reason)
    click.echo(i18n.text("reopen_done", lang, period=period))


@main.command()
@click.argument("agent_id", metavar="[AGENT]", required=False,
                callback=lambda ctx, param, value: value and identity.fold(value))
@db_option
@lang_option
def history(agent_id, db_path, lang):
    """Show an agent's months, or every scored month."""
    with ledger_session(db_path, lang, create="existing") as book:
        if agent_id:
            echo_lines(terminal.history_lines(agent_id, ledger_history.history(book, agent_id), lang))
        else:
            echo_lines(terminal.months_lines(ledger_history.months(book), lang))


@main.command()
@click.argument("agent_id", metavar="AGENT", callback=lambda ctx, param, value: identity.fold(value))
@period_option
@option("--revision", type=click.IntRange(1, 2**63 - 1), key="help_opt_revision")
@config_option
@db_option
@lang_option
def show(agent_id, period, revision, config_dir, db_path, lang):
    """Show one agent's stored result with every explanation."""
    labels = {item.id: item.label for item in load_rules(config_dir, period, lang).weights.items}
    with ledger_session(db_path, lang, create="existing") as book:
        found = ledger_history.revision_of(book, period, revision)
        row = revisions.results_of(book, found["id"], agent_id).get(agent_id)
    if row is None:
        fail(ReviewError("unknown_agent", agent=agent_id, period=period), lang)
    echo_lines(terminal.show_lines(period, found["revision"], row, lang, labels))


@main.command("rules")
@option("--period", type=PERIOD, key="help_opt_rules_period")
@option("--rules", "rules_dir", type=click.Path(), key="help_opt_rules_rules")
@option("--diff", is_flag=True, key="help_opt_rules_diff")
@config_option
@lang_option
def rules_command(period, rules_dir, diff, config_dir, lang):
    """Print the assessment table in force for a month, with sources."""
    period = period or Period.containing(today())
    ruleset = load_rules(config_dir, period, lang)
    if diff and not rules_dir:
        raise click.UsageError(i18n.text("diff_needs_rules", lang))
    if rules_dir:  # ---- issue 24: a proposal, whole or as its differences
        from kpi.io import proposal
        from kpi.render import whatif as whatif_render
        from kpi.core import rulediff
        try:
            proposed = proposal.ruleset(proposal.read(rules_dir), config_dir, period)
        except proposal.ProposalError as error:
            fail(error, lang, header="proposal_errors")
        if diff:
            echo_lines(whatif_render.diff_lines(rulediff.differences(ruleset, proposed), rules_dir, period, lang))
            return
        ruleset = proposed
    echo_lines(terminal.rulebook(ruleset, lang))


@main.command("timeline")
@click.argument("period", type=PERIOD, metavar="YYYY-MM")
@option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
        key="help_opt_format")
@config_option
@db_option
@lang_option
def timeline_command(period, fmt, config_dir, db_path, lang):
    """Print the review timeline of a month on the working-day calendar."""
    from kpi.io import proposal

    line = calendar.for_calendar(period, load_calendar(config_dir, period, lang))   # not the scoring rules
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
        lines = terminal.timeline(line, lang)
        deadline = next((i for i, text in enumerate(lines) if "revision_deadline" in [s.id for s in line.steps]
                         and getattr(next(s for s in line.steps if s.id == "revision_deadline").label, lang) in text),
                        len(lines) - 1)
        echo_lines(lines[:deadline + 1] + adopted + lines[deadline + 1:])   # under 方案修订截止


# ---- issue 24
@main.command("whatif")
@option("--rules", "rules_dir", required=True, type=click.Path(), key="help_opt_whatif_rules")
@option("--period", "periods", multiple=True, type=PERIOD, key="help_opt_whatif_periods")
@option("--from", "first", type=PERIOD, key="help_opt_whatif_from")
@option("--to", "last", type=PERIOD, key="help_opt_whatif_to")
@option("--out", "out_file", type=click.Path(dir_okay=False), key="help_opt_whatif_out")
@option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
        key="help_opt_format")
@config_option
@db_option
@lang_option
def whatif_command(rules_dir, periods, first, last, out_file, fmt, config_dir, db_path, lang):
    """Re-score stored months under proposed rules and compare with what was scored."""
    from kpi.io import proposal
    from kpi.render import whatif as whatif_render
    from kpi.pipeline import scored
    from kpi.core.whatif import WhatifError
    from kpi.io.writers import whatif as whatif_xlsx

    if bool(first) != bool(last):
        raise click.UsageError(i18n.text("whatif_periods_needed", lang))
    wanted = list(periods) + (first.until(last) if first else [])
    if not wanted:
        raise click.UsageError(i18n.text("whatif_periods_needed", lang))
    if out_file and not out_file.lower().endswith(".xlsx"):
        raise click.UsageError(i18n.text("whatif_out_not_xlsx", lang))
    with ledger_session(db_path, lang, create=False) as book:
        if book is None:
            fail([refusal("whatif_no_ledger", {"path": ledger.resolve(db_path)})], lang)
        try:
            comparison = scored.compare(book, wanted, rules_dir, config_dir)
        except proposal.ProposalError as error:
            fail(error, lang, header="proposal_errors")
        except ConfigError as error:
            fail(error, lang)
        except WhatifError as error:
            fail(error, lang)
    if out_file:
        try:
            from kpi.io.output import staged_file
            with staged_file(Path(out_file)) as staging:
                whatif_xlsx.write(staging, comparison, str(rules_dir), lang)
        except OSError as error:
            fail([refusal("whatif_output_error", {"path": out_file, "reason": error.strerror}, source=OUTPUT)], lang)
    if fmt == "json":
        click.echo(json.dumps(whatif_render.document(comparison, str(rules_dir)), ensure_ascii=False, indent=2))
    else:
        echo_lines(whatif_render.lines(comparison, str(rules_dir), lang))
    if out_file:
        click.echo(i18n.text("whatif_written", lang, path=out_file), err=fmt == "json")


@main.command()
@click.argument("proposal_dir", metavar="DIR", type=click.Path())
@option("--from", "effective", required=True, type=PERIOD, key="help_opt_adopt_from")
@config_option
@db_option
@lang_option
def adopt(proposal_dir, effective, config_dir, db_path, lang):
    """Write a proposal into the config in use as a new version effective from a month."""
    from kpi.io import proposal
    from kpi.pipeline import scored

    folder = config.resolve_dir(config_dir)
    if not config_dir and proposal.shipped_in_package(folder):
        raise click.UsageError(i18n.text("adopt_shipped", lang, path=folder))
    try:
        proposed = proposal.read(proposal_dir)
    except proposal.ProposalError as error:
        fail(error, lang, header="proposal_errors")
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
            fail(error, lang, header="proposal_errors")
        except proposal.AdoptError as error:
            fail(error, lang)
    click.echo(i18n.text("adopt_done", lang, proposal=proposal_dir, config=folder, files=", ".join(files),
                         effective=effective))
    click.echo(i18n.text("adopt_audit", lang, who=ledger.user(), day=day.isoformat(), db=book.path))
    echo_lines(_revision_deadline(folder, review_period, day, lang))


def _revision_deadline(folder, review_period: str, day: datetime.date, lang: str) -> list[str]:
    """The 15th-working-day revision deadline of the month under review, and whether ``day`` keeps it."""
    line = calendar.for_calendar(review_period, load_calendar(folder, review_period, lang))
    step = next((s for s in line.steps if s.id == "revision_deadline"), None)
    if step is None:
        return []
    state = i18n.text("adopt_on_time" if day <= step.date else "adopt_late", lang)
    return [i18n.text("adopt_deadline", lang, period=review_period, date=terminal.day_text(step.date, lang),
                      n=step.working_day, state=state)]


def _adopted_lines(book, line, lang: str) -> list[str]:
    """The revisions adopted during the review of the timeline's month, against its deadline."""
    from kpi.io import proposal

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


# ---- issue 25
@main.command("import")
@click.argument("exports", metavar="EXPORT...", nargs=-1, required=True, type=click.Path(dir_okay=False))
@period_option
@option("--into", "sheet_file", required=True, type=click.Path(dir_okay=False), key="help_opt_into")
@option("-o", "--output", "out_file", type=click.Path(dir_okay=False), key="help_opt_import_output")
@option("--editable", is_flag=True, key="help_opt_editable")
@option("--dry-run", "dry_run", is_flag=True, key="help_opt_dry_run")
@config_option
@db_option
@lang_option
def import_command(exports, period, sheet_file, out_file, editable, dry_run, config_dir, db_path, lang):
    """Fill the month's fill-in workbook with the figures of platform exports."""
    ruleset = load_rules(config_dir, period, lang)
    with ledger_session(db_path, lang, create=False) as book:
        try:
            found = intake.plan(exports, sheet_file, ruleset, config_dir, lang, book)
        except ConfigError as error:
            fail(error, lang)
        except InputError as error:
            fail(error, lang, ruleset)
    echo_lines(import_plan.lines(found, ruleset, lang))
    cells, agents = len(found.writes), found.agents
    if dry_run:
        click.echo(i18n.text("import_dry_run", lang, agents=agents, cells=cells))
        return
    try:
        path = intake.apply(found, out_file, editable)
    except OSError as error:
        fail([refusal("import_output_error", {"path": out_file or sheet_file, "reason": error.strerror or error},
                      source=OUTPUT)], lang)
    click.echo(i18n.text("import_done_editable" if editable else "import_done", lang, agents=agents, cells=cells,
                         path=path))


# ---- issue 22
@main.command()
@click.argument("agent_id", metavar="AGENT")
@period_option
@option("--uphold", is_flag=True, key="help_opt_uphold")
@option("--reject", is_flag=True, key="help_opt_reject")
@option("--reason", required=True, key="help_opt_decision_reason")
@db_option
@lang_option
def decide(agent_id, period, uphold, reject, reason, db_path, lang):
    """Record the manager's decision on an agent's objection."""
    if uphold == reject:
        raise click.UsageError(i18n.text("decision_choose_one", lang))
    decision = "uphold" if uphold else "reject"
    with ledger_session(db_path, lang) as book:
        answers.decide_objection(book, period, agent_id, decision, reason)
    click.echo(i18n.text("decide_recorded", lang, period=period, agent=agent_id,
                         decision=i18n.text(DECIDED_STATE[decision], lang)))


DECIDED_STATE = {"uphold": "state_objection_upheld", "reject": "state_objection_rejected"}

# ---- issue 23: the web workspace and its accounts
@main.command()
@db_option
@option("--host", default="127.0.0.1", show_default=True, key="help_opt_host")
@option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, key="help_opt_port")
@option("--demo", is_flag=True, key="help_opt_demo")
@option("--secure-cookies", "secure_cookies", is_flag=True, key="help_opt_secure_cookies")
@config_option
@lang_option
def serve(db_path, host, port, demo, secure_cookies, config_dir, lang):
    """Serve the web workspace."""
    import tempfile

    import uvicorn

    from kpi import web
    from kpi.web import demo as demo_month

    fixed_today = None
    if demo:
        loaded = demo_month.load(tempfile.mkdtemp(prefix="kpi-demo-"), config_dir, lang)
        db_path, fixed_today = loaded.db_path, loaded.today
        click.echo(i18n.text("serve_demo_title", lang, db=db_path, period=loaded.period, count=loaded.agents,
                             password=demo_month.PASSWORD))
        shown = [a for a in loaded.accounts if a[1] != "agent"] + [a for a in loaded.accounts if a[1] == "agent"][:3]
        for name, role in shown:
            click.echo(i18n.text("serve_demo_account", lang, name=name, role=i18n.text(f"web_role_{role}", lang)))
        click.echo(i18n.text("serve_demo_more", lang, count=loaded.agents, today=loaded.today))
    path = ledger.resolve(db_path)
    if host in ("0.0.0.0", "::", "") and not secure_cookies:
        click.echo(i18n.text("serve_open_all", lang, host=host or "0.0.0.0"), err=True)
    try:
        app = web.create_app(path, config_dir, secure_cookies=secure_cookies,
                             today=(lambda: fixed_today) if fixed_today else None)
    except LedgerError as error:
        fail(error, lang)
    click.echo(i18n.text("serve_listening", lang, host=host, port=port, db=path))
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=secure_cookies, server_header=False)


@main.group("user")
@lang_option
def user_group(lang):
    """Manage the web workspace's accounts."""


def _account_session(db_path, lang):
    from kpi.ledger.accounts import AccountError

    @contextlib.contextmanager
    def session():
        with ledger_session(db_path, lang) as book:
            try:
                yield book
            except AccountError as error:
                fail(error, lang)
    return session()


@user_group.command("add")
@click.argument("name")
@option("--role", required=True, type=click.Choice(["hr", "manager", "supervisor", "agent"]), key="help_opt_role")
@option("--team", "teams", multiple=True, key="help_opt_team")
@option("--agent-id", "agent_id", default="", key="help_opt_agent_id")
@db_option
@lang_option
def user_add(name, role, teams, agent_id, db_path, lang):
    """Add an account."""
    from kpi.ledger import accounts

    if sys.stdin.isatty():
        password = click.prompt(i18n.text("user_password_prompt", lang), hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    with _account_session(db_path, lang) as book:
        user = accounts.add(book, name, role, password, teams, agent_id)
        remarks = accounts.strangers(book, user)
    click.echo(i18n.text("user_added", lang, name=user.name, role=role))
    for key, params in remarks:
        click.echo(i18n.text(key, lang, **params), err=True)


@user_group.command("import")
@period_option
@option("--out", "out_file", type=click.Path(dir_okay=False), key="help_opt_passwords_out")
@db_option
@lang_option
def user_import(period, out_file, db_path, lang):
    """Add an agent account for every agent of the month."""
    from kpi.ledger import accounts

    out_file = out_file or f"hr-only/web-passwords-{period}.csv"
    with _account_session(db_path, lang) as book:
        created = accounts.import_agents(book, period, out_file, lang)
    click.echo(i18n.text("user_imported", lang, count=len(created), path=out_file))


@user_group.command("list")
@db_option
@lang_option
def user_list(db_path, lang):
    """List every account."""
    from kpi.ledger import accounts

    with _account_session(db_path, lang) as book:
        found = accounts.users(book)
    for user in found:
        state = ("web_user_disabled" if user.disabled else "web_user_must_change" if user.must_change
                 else "web_user_active")
        click.echo(i18n.text("user_line", lang, name=user.name, role=user.role, teams=",".join(user.teams) or "-",
                             state=i18n.text(state, lang)))


@user_group.command("disable")
@click.argument("name")
@db_option
@lang_option
def user_disable(name, db_path, lang):
    """Disable an account."""
    from kpi.ledger import accounts

    with _account_session(db_path, lang) as book:
        accounts.disable(book, name)
    click.echo(i18n.text("user_disabled", lang, name=name))


@user_group.command("reset")
@click.argument("name")
@db_option
@lang_option
def user_reset(name, db_path, lang):
    """Reset an account's password."""
    from kpi.ledger import accounts

    with _account_session(db_path, lang) as book:
        password = accounts.reset(book, name)
    click.echo(i18n.text("user_reset_done", lang, name=name, password=password))


for _command in (user_add, user_import, user_list, user_disable, user_reset):
    _command.help_key = f"help_user_{_command.name}"  # "add" etc. are the user group's, not the root's


# ---- issue 20
@main.command()
@db_option
@lang_option
def verify(db_path, lang):
    """Check the ledger: SQLite's integrity and the hash chain over every recorded row."""
    if not ledger.resolve(db_path).exists():
        fail(LedgerError("ledger_missing", path=str(ledger.resolve(db_path))), lang)
    with ledger_session(db_path, lang) as book:
        report = book.verify()
    echo_lines(terminal.verify_lines(report, book.path, lang))
    if report.first is not None:
        sys.exit(1)


if __name__ == "__main__":
    main()
