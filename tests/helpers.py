"""Shared test helpers: the neutral agent, rule-set loading and writing sheets."""

from __future__ import annotations

import csv
import shutil
import tomllib
from decimal import Decimal
from pathlib import Path

import xlsxwriter

from kpi.io import config
from kpi.core import rules
from kpi.core.agents import AgentInput

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "cases"
EXAMPLE_XLSX = ROOT / "examples" / "2026-09" / "input-2026-09.xlsx"
EXAMPLE_CSV = ROOT / "examples" / "2026-09" / "input-2026-09.csv"
IDENTITY = ("agent_id", "name", "team", "level")


def baseline() -> dict[str, str]:
    """The neutral agent of ``cases/baseline.toml`` as field → text."""
    with open(CASES / "baseline.toml", "rb") as handle:
        return tomllib.load(handle)


def ruleset(period: str = "2026-09", config_dir=None) -> rules.Ruleset:
    return config.load(config_dir, period)


def results_of(path: Path, ruleset_: rules.Ruleset) -> tuple:
    """The month in ``path`` scored by the core alone, to compare with what was written."""
    from kpi.pipeline import month
    from kpi.core import scoring
    return scoring.score_month(ruleset_, month.validate(Path(path), ruleset_).agents)


def agent(fields: dict[str, str], ruleset_: rules.Ruleset, **identity) -> AgentInput:
    """An AgentInput from text values (empty text = empty cell)."""
    merged = {**fields, **identity}
    values = {f.id: (Decimal(merged[f.id]) if merged.get(f.id, "") != "" else None)
              for f in ruleset_.fields if f.id not in IDENTITY}
    return AgentInput(*(merged[k] for k in IDENTITY), values=values)


def copy_config(tmp_path: Path) -> Path:
    """A writable copy of the shipped config directory."""
    target = tmp_path / "config"
    shutil.copytree(config.default_dir(), target)
    return target


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    """Replace text in a config file, failing if ``old`` is not there."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def example_rows() -> list[list[str]]:
    """The example month's CSV as rows of text (header first)."""
    with open(EXAMPLE_CSV, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def write_csv(path: Path, rows: list[list], encoding: str = "utf-8-sig") -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list], sheet: str = "填报表") -> Path:
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    worksheet = workbook.add_worksheet(sheet)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None and value != "":
                worksheet.write(r, c, value)
    workbook.close()
    return path


def run(*args, **env):
    """``kpi ARGS`` through click's runner, in Chinese and with the shipped config unless ``env`` says otherwise."""
    import cli
    from click.testing import CliRunner
    return CliRunner().invoke(cli.main, [str(a) for a in args], env={"KPI_LANG": None, "KPI_CONFIG": None, **env})


def ok(*args, **env):
    """:func:`run` that must succeed: the result, once its exit code is 0 (else the output is shown)."""
    result = run(*args, **env)
    assert result.exit_code == 0, result.output
    return result


def score(path=EXAMPLE_CSV, *extra, period: str = "2026-09", out="out", **env):
    """``kpi score`` of ``path`` (the example month) into ``out``, which must succeed."""
    return ok("score", path, "--period", period, "--out", out, *extra, **env)
