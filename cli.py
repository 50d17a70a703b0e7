"""The ``kpi`` command line: parse options, call the library, render the result.

Every command's logic lives in the ``kpi`` package; this module only turns
options into a call and the result (or a :mod:`kpi.errors` error) into text
and an exit code: 0 success, 1 input or config problem, 2 usage error,
70 internal error. Help texts live in ``kpi/messages.toml`` (``help_*``) and
are shown in the language of ``--lang`` or ``KPI_LANG``.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import sys

import click

from kpi import calendar, config, i18n, month, terminal
from kpi.errors import ConfigError, InputError

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
EXIT_INTERNAL = 70


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
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit, KeyboardInterrupt):
            raise
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
@config_option
@lang_option
def score(input_file, period, out_dir, config_dir, lang):
    """Score a filled sheet and write results, payroll, team summary and scorecards."""
    ruleset = load_rules(config_dir, period, lang)
    try:
        report = month.score(input_file, ruleset, out_dir, lang)
    except InputError as error:
        fail_input(error, ruleset, lang)
    except OSError as error:
        click.echo(i18n.text("output_error", lang, path=out_dir or f"kpi-out/{period}", reason=error.strerror), err=True)
        sys.exit(1)
    echo_lines(terminal.summary(report, lang))


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
@lang_option
def template(period, roster_file, out_file, config_dir, lang):
    """Write the month's fill-in workbook (填报表) for a roster."""
    ruleset = load_rules(config_dir, period, lang)
    out_file = out_file or f"{i18n.text('template_sheet', lang)}-{period}.xlsx"
    line = calendar.for_rules(ruleset)
    notes = terminal.rulebook(ruleset, lang) + terminal.timeline(line, lang) + terminal.timeline_warnings(line, lang)
    try:
        count = month.write_template(roster_file, ruleset, out_file, notes, lang)
    except InputError as error:
        fail_input(error, ruleset, lang)
    click.echo(i18n.text("template_written", lang, path=out_file, count=count))


@main.command("rules")
@option("--period", callback=_period, key="help_opt_rules_period")
@config_option
@lang_option
def rules_command(period, config_dir, lang):
    """Print the assessment table in force for a month, with sources."""
    ruleset = load_rules(config_dir, period or datetime.date.today().strftime("%Y-%m"), lang)
    echo_lines(terminal.rulebook(ruleset, lang))


@main.command("timeline")
@click.argument("period", callback=_period, metavar="YYYY-MM")
@option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
        key="help_opt_format")
@config_option
@lang_option
def timeline_command(period, fmt, config_dir, lang):
    """Print the review timeline of a month on the working-day calendar."""
    line = calendar.for_rules(load_rules(config_dir, period, lang))
    echo_lines(terminal.timeline_warnings(line, lang), err=True)
    if fmt == "json":
        click.echo(json.dumps(terminal.timeline_json(line), ensure_ascii=False, indent=2))
    else:
        echo_lines(terminal.timeline(line, lang))


if __name__ == "__main__":
    main()
