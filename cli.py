"""The ``kpi`` command line: parse options, call one library function, render.

Every command's logic lives in the ``kpi`` package; this module only turns
options into a call and the result (or a :mod:`kpi.errors` error) into text
and an exit code: 0 success, 1 input or config problem, 2 usage error.
"""

from __future__ import annotations

import datetime
import json
import re
import sys

import click

from kpi import calendar, config, i18n, month, terminal
from kpi.errors import ConfigError, InputError

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _period(ctx, param, value):
    if value is not None and not PERIOD.match(value):
        raise click.BadParameter(i18n.text("period_invalid", i18n.lang_from_env()))
    return value


def config_option(func):
    return click.option("--config", "config_dir", type=click.Path(file_okay=False), envvar="KPI_CONFIG",
                        help="Config directory (weights.toml, pay_bands.toml, fields.toml); default: the shipped one. "
                             "Env: KPI_CONFIG.")(func)


def lang_option(func):
    return click.option("--lang", type=click.Choice(i18n.LANGS), envvar="KPI_LANG", default=i18n.DEFAULT,
                        show_default=True, help="Language of sheets and messages. Env: KPI_LANG.")(func)


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kpi")
def main():
    """kpi: monthly performance scores and payroll for customer-service teams (客服绩效考核).

    Example: kpi score examples/2026-09/填报表-2026-09.xlsx --period 2026-09
    """
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")


@main.command()
@click.argument("input_file", metavar="INPUT", type=click.Path(dir_okay=False))
@click.option("--period", required=True, callback=_period, help="Month assessed, YYYY-MM.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Output directory [default: kpi-out/YYYY-MM].")
@config_option
@lang_option
def score(input_file, period, out_dir, config_dir, lang):
    """Score a filled assessment sheet (.xlsx or .csv) and write results, payroll and scorecards.

    Nothing is written when the input has problems: every problem is listed
    with its cell, and the exit code is 1.

    Example: kpi score 填报表-2026-09.xlsx --period 2026-09 --out out/2026-09
    """
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
@click.option("--period", required=True, callback=_period, help="Month assessed, YYYY-MM.")
@config_option
@lang_option
def check(input_file, period, config_dir, lang):
    """Check a filled sheet without writing anything: every problem at once, or one OK line.

    Example: kpi check 填报表-2026-09.xlsx --period 2026-09
    """
    ruleset = load_rules(config_dir, period, lang)
    try:
        parsed = month.validate(input_file, ruleset)
    except InputError as error:
        fail_input(error, ruleset, lang)
    echo_lines(terminal.notices(parsed.notices, ruleset, lang))
    click.echo(terminal.check_ok(parsed, ruleset, lang))


@main.command()
@click.option("--period", required=True, callback=_period, help="Month to assess, YYYY-MM.")
@click.option("--roster", "roster_file", required=True, type=click.Path(dir_okay=False),
              help="Roster .csv/.xlsx: 工号, 姓名, 组别, 级别 (optional 级别工资, 绩效工资, 上月销售额).")
@click.option("-o", "--output", "out_file", type=click.Path(dir_okay=False),
              help="Workbook to write [default: 填报表-YYYY-MM.xlsx].")
@config_option
@lang_option
def template(period, roster_file, out_file, config_dir, lang):
    """Write the month's fill-in workbook (填报表) for a roster, with rules and dates on a 说明 sheet.

    Example: kpi template --period 2026-10 --roster roster.csv -o 填报表-2026-10.xlsx
    """
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
@click.option("--period", callback=_period, help="Month whose rules to show, YYYY-MM [default: this month].")
@config_option
@lang_option
def rules_command(period, config_dir, lang):
    """Print the assessment table in force for a month, with the source of each reading.

    Example: kpi rules --period 2026-09 --lang en
    """
    ruleset = load_rules(config_dir, period or datetime.date.today().strftime("%Y-%m"), lang)
    echo_lines(terminal.rulebook(ruleset, lang))


@main.command("timeline")
@click.argument("period", callback=_period, metavar="YYYY-MM")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for systems.")
@config_option
@lang_option
def timeline_command(period, fmt, config_dir, lang):
    """Print the review timeline of a month on the working-day calendar.

    Example: kpi timeline 2026-09 --format json
    """
    line = calendar.for_rules(load_rules(config_dir, period, lang))
    echo_lines(terminal.timeline_warnings(line, lang), err=True)
    if fmt == "json":
        click.echo(json.dumps(terminal.timeline_json(line), ensure_ascii=False, indent=2))
    else:
        echo_lines(terminal.timeline(line, lang))


if __name__ == "__main__":
    main()
