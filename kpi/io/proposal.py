"""A proposed revision of the scheme: rule files like ``config/``, laid over the rules in force.

A proposal is a directory holding all four config files or only those that change.
Each file is checked exactly like ``config/`` (the same models), but every fault is
collected, so HR sees the whole list at once. What a proposal puts forward is the
newest ``[[version]]`` of each of its dated files; for a month it replaces the
version in force then, the other files keep theirs (:func:`ruleset`). Adopting it
(:func:`adopt`) appends that version to the config in use, dated from a month no
revision of the ledger has scored yet.
"""

from __future__ import annotations

import copy
import datetime
import os
import shutil
import tempfile
from pathlib import Path
from typing import NamedTuple

from kpi.io import config
from kpi.core import rules
from kpi.core.errors import ConfigError, KpiError
from kpi.core.period import Period

MODELS = {config.WEIGHTS: rules.WeightsVersion, config.PAY_BANDS: rules.PayVersion,
          config.CALENDAR: rules.CalendarVersion}
PLACEHOLDER = "2000-01"  # the effective month checked when a proposal leaves it out


class ProposalError(KpiError, ValueError):
    """A proposal's files are broken: every fault found, each with file and key."""

    def __init__(self, errors: list[ConfigError]):
        self.errors = list(errors)
        super().__init__("\n".join(error.render() for error in self.errors))

    @property
    def problems(self) -> tuple:
        """Every fault of every file, as Problem records (:class:`kpi.core.errors.Problem`)."""
        return tuple(problem for error in self.errors for problem in error.problems)


class AdoptError(KpiError, ValueError):
    """A revision cannot be adopted as asked; ``code`` is a message key, ``params`` fill it."""

    def __init__(self, code: str, **params: object):
        self.code, self.params = code, {k: str(v) for k, v in params.items()}
        super().__init__(f"{code}: {self.params}")


class Proposal(NamedTuple):
    """The files of a proposal as read: file name → table (only the files it holds)."""

    folder: Path
    raw: dict[str, dict]

    def path(self, name: str) -> Path:
        return self.folder / name


def read(folder: str | os.PathLike) -> Proposal:
    """The proposal in ``folder``, checked whole; raises ProposalError listing every fault."""
    folder = Path(folder)
    errors: list[ConfigError] = []
    if not folder.is_dir():
        raise ProposalError([ConfigError(str(folder), "(directory)", "not a directory", code="config_not_directory")])
    raw: dict[str, dict] = {}
    for path in sorted(folder.glob("*.toml")):
        if path.name not in config.FILES:
            errors.append(ConfigError(str(path), "(file)", "not a config file; a proposal holds some of "
                                      + ", ".join(config.FILES), code="config_not_config_file",
                                      params=(("files", ", ".join(config.FILES)),)))
            continue
        try:
            raw[path.name] = config.read_toml(path)
        except ConfigError as error:
            errors.append(error)
    if not raw and not errors:
        errors.append(ConfigError(str(folder), "(directory)", "holds none of " + ", ".join(config.FILES),
                                  code="config_empty_proposal", params=(("files", ", ".join(config.FILES)),)))
    for name, table in raw.items():
        errors.extend(_faults(name, table, folder / name))
    if errors:
        raise ProposalError(errors)
    return Proposal(folder, raw)


def _faults(name: str, table: dict, path: Path) -> list[ConfigError]:
    """Every fault of one proposal file, checked by the model config/ is built with."""
    if name == config.FIELDS:
        return config.faults(rules.Fields, table, path, "")
    found: list[ConfigError] = []
    if name == config.CALENDAR:
        found += config.faults(rules.CalendarOverrides, config.overrides_part(table), path, "")
    try:
        versions = config.versions_of(table, path)
    except ConfigError as error:
        return found + [error]
    for version in versions:
        version = {"effective": PLACEHOLDER, **version}
        found += config.faults(MODELS[name], version, path, f"version[effective={version['effective']}]")
    return found


def put_forward(proposal: Proposal, name: str, effective: str) -> dict:
    """The version the proposal puts forward for file ``name``, dated ``effective`` unless it says."""
    version = config.newest(proposal.raw[name], proposal.path(name))
    return {**version, "effective": str(version.get("effective") or effective)}


def ruleset(proposal: Proposal, base_dir: str | os.PathLike | None, period: str) -> rules.Ruleset:
    """The rules ``period`` would be scored with under the proposal: its files' versions over the
    versions in force then in ``base_dir`` (the config in use). Raises ProposalError (a fault
    found only when the files meet, e.g. a field an item reads that no file defines)."""
    folder = config.resolve_dir(base_dir)
    raw, paths = {}, {}
    try:
        for name in config.FILES:
            held = name in proposal.raw
            paths[name] = proposal.path(name) if held else folder / name
            raw[name] = proposal.raw[name] if held else config.read_toml(paths[name])
        dated = {name: (put_forward(proposal, name, period) if name in proposal.raw
                        else config.select(raw[name], paths[name], period)) for name in config.DATED}
        return config.assemble(raw, dated, paths, period, proposal.folder)
    except ConfigError as error:
        raise ProposalError([error]) from None


# ------------------------------------------------------------------ adopting
def adopt(proposal: Proposal, config_dir: Path, effective: str, scored: list[str]) -> list[str]:
    """Append the proposal's versions to the config files in ``config_dir``, effective from
    ``effective``; earlier versions stay, so earlier months keep the rules of their time.

    ``scored``: the months the ledger has scored (a revision from a scored month on would
    change what was scored: refused). Undated parts (``fields.toml``, the calendar's own
    days) must equal those in force. The config is rewritten in a copy, loaded for the
    effective month, then swapped in file by file. Returns the names of the files changed.
    """
    import tomlkit  # only adopting writes TOML

    taken = sorted(month for month in scored if month >= effective)
    if taken:
        raise AdoptError("adopt_month_scored", effective=effective, months=", ".join(taken))
    _same_undated(proposal, config_dir)
    staging = Path(tempfile.mkdtemp(prefix=".kpi-adopt-", dir=config_dir.parent))
    try:
        changed = []
        for name in config.FILES:
            shutil.copy2(config_dir / name, staging / name)
        for name in config.DATED:
            if name not in proposal.raw:
                continue
            current = config.versions_of(config.read_toml(config_dir / name), config_dir / name)
            last = str(current[-1].get("effective"))
            if last >= effective:
                raise AdoptError("adopt_not_after", file=name, effective=effective, last=last)
            document = tomlkit.parse((config_dir / name).read_text(encoding="utf-8"))
            version = copy.deepcopy(tomlkit.parse(proposal.path(name).read_text(encoding="utf-8"))["version"][-1])
            version["effective"] = effective
            document["version"].append(version)
            (staging / name).write_text(tomlkit.dumps(document), encoding="utf-8")
            changed.append(name)
        config.load(staging, effective)
        for month in scored[-1:]:
            config.load(staging, month)  # the months already scored still load
        for name in changed:
            os.replace(staging / name, config_dir / name)
        return changed
    except ConfigError as error:
        raise ProposalError([error]) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _same_undated(proposal: Proposal, config_dir: Path) -> None:
    """Refuse a proposal that changes what has no date: fields.toml and the calendar's own days."""
    if config.FIELDS in proposal.raw and proposal.raw[config.FIELDS] != config.read_toml(config_dir / config.FIELDS):
        raise AdoptError("adopt_undated", file=config.FIELDS)
    if config.CALENDAR in proposal.raw:
        own = config.read_toml(config_dir / config.CALENDAR)
        if config.overrides_part(proposal.raw[config.CALENDAR]) != config.overrides_part(own):
            raise AdoptError("adopt_undated", file=config.CALENDAR)


def shipped_in_package(config_dir: Path) -> bool:
    """Whether ``config_dir`` is the config inside an installed kpi (not a checkout's config/)."""
    return config_dir.resolve() == (Path(__file__).resolve().parent / "config").resolve()


def review_period(day: datetime.date) -> Period:
    """The month under review on ``day``: the month before (a revision follows its review)."""
    return Period.containing(day).previous


# ------------------------------------------------------------------ the record of adoptions
def record(ledger, db, effective: str, detail: dict) -> None:
    """Who adopted what, in the ledger's audit log (inside the caller's transaction)."""
    ledger.audit(db, "adopt", effective, detail)


def adoptions(ledger, review: str) -> list[dict]:
    """The revisions adopted during the review of month ``review``, oldest first: each the audit
    detail with who adopted it and when (``who``, ``at``)."""
    import json

    found = []
    for row in ledger.rows("SELECT at, who, detail FROM audit WHERE action = 'adopt' ORDER BY id"):
        detail = json.loads(row["detail"])
        if detail.get("review_period") == review:
            found.append({**detail, "who": row["who"], "at": row["at"]})
    return found
