"""Import profiles: finding and reading ``config/imports/*.toml`` (the models: :mod:`kpi.core.profile`).

A shop adds or fixes a profile by dropping a TOML file into
``imports/`` of its config directory; no release is needed.

Profiles are checked like the rest of the config (unknown keys are errors), and
every fault of every profile file is reported at once, with its file and key.
"""

from __future__ import annotations

import os
from pathlib import Path

import pydantic

from kpi.io import config
from kpi.core import rules
from kpi.core.errors import CONFIG, ConfigError, Problem
from kpi.core.profile import FITS, IDENTITY, Profile

IMPORTS = "imports"


class ProfileError(ConfigError):
    """Every fault found in the import profiles: (file, key, message) each."""

    def __init__(self, faults: list[tuple[str, str, str]]):
        self.faults = list(faults)
        first = self.faults[0]
        super().__init__(*first)

    @property
    def problems(self) -> tuple[Problem, ...]:
        """Every fault as a Problem record, each after the first listed under it (indented)."""
        return tuple(Problem(CONFIG, file, "config_problem_under" if index else "config_problem",
                             (("file", file), ("setting", key), ("message", message)), field=key)
                     for index, (file, key, message) in enumerate(self.faults))

    def render(self) -> str:
        """One fault a line, each under the first: ``file: key: message``."""
        lines = [f"{file}: {key}: {message}" for file, key, message in self.faults]
        return "\n".join([lines[0], *("  " + line for line in lines[1:])])


def folders(config_dir: str | os.PathLike | None) -> list[Path]:
    """Where profiles are read from: the shipped ones, then the config directory's (which win by id)."""
    shipped = config.default_dir() / IMPORTS
    chosen = config.resolve_dir(config_dir) / IMPORTS
    return [shipped] if chosen.resolve() == shipped.resolve() else [shipped, chosen]


def load(config_dir: str | os.PathLike | None, ruleset: rules.Ruleset) -> tuple[Profile, ...]:
    """Every import profile; a profile of the config directory replaces a shipped one of the same id.

    Raises :class:`ProfileError` listing every fault of every file at once."""
    found: dict[str, Profile] = {}
    faults: list[tuple[str, str, str]] = []
    for folder in folders(config_dir):
        seen: dict[str, Path] = {}
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            profile = _read(path, ruleset, faults)
            if profile is None:
                continue
            if profile.id in seen:
                faults.append((str(path), "id", f"id {profile.id!r} is already used by {seen[profile.id].name}"))
                continue
            seen[profile.id] = path
            found[profile.id] = profile
    if faults:
        raise ProfileError(faults)
    return tuple(found.values())


def _read(path: Path, ruleset: rules.Ruleset, faults: list) -> Profile | None:
    try:
        raw = config.read_toml(path)
    except ConfigError as error:
        faults.append((error.file, error.key, error.message))
        return None
    try:
        profile = Profile.model_validate(raw)
    except pydantic.ValidationError as exc:
        for error in exc.errors(include_url=False):
            faults.append((str(path), config.key_path(raw, error["loc"], ""), config.describe(error, Profile).message))
        return None
    before = len(faults)
    _cross_check(profile, raw, path, ruleset, faults)
    return profile if len(faults) == before else None


def _cross_check(profile: Profile, raw: dict, path: Path, ruleset: rules.Ruleset, faults: list) -> None:
    """Each field named must be one of kpi's input fields, not identity, fed by a fitting format."""
    known = {f.id: f for f in ruleset.fields}
    for index, column in enumerate(profile.columns):
        key = f"columns[{index}].field"
        target = known.get(column.field)
        if target is None or column.field in IDENTITY:
            faults.append((str(path), key, f"{column.field!r} is not an input field kpi reads from an export "
                                            f"(see fields.toml)"))
        elif column.format not in FITS[target.type]:
            faults.append((str(path), f"columns[{index}].format",
                           f"a {column.format} value cannot fill {column.field}, a {target.type} field"))
    for index, left in enumerate(profile.left_to_sheet):
        if left.field not in known or left.field in IDENTITY:
            faults.append((str(path), f"left_to_sheet[{index}].field", f"{left.field!r} is not an input field"))
