"""Finding, reading and checking the config directory.

The pipeline is visible: read TOML (floats as Decimal) → pick the version in
force for the month → build frozen models → cross-check the files against each
other. Every failure becomes a :class:`kpi.errors.ConfigError` naming the file,
the key (with item ids where there are any) and a correct example.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pydantic

from kpi import examples, rules
from kpi.errors import ConfigError

WEIGHTS, PAY_BANDS, FIELDS, CALENDAR = "weights.toml", "pay_bands.toml", "fields.toml", "calendar.toml"


def default_dir() -> Path:
    """The config shipped with kpi: inside the installed package, else the repo's."""
    packaged = Path(str(resources.files("kpi"))) / "config"
    if (packaged / WEIGHTS).is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / "config"


def resolve_dir(config_dir: str | os.PathLike | None) -> Path:
    """The directory to read: the one given, else the shipped default."""
    return Path(config_dir) if config_dir else default_dir()


def load(config_dir: str | os.PathLike | None, period: str) -> rules.Ruleset:
    """The :class:`~kpi.rules.Ruleset` in force for ``period`` (YYYY-MM).

    Every fault of the config is reported at once: each stage collects the faults of
    every file, and the next stage runs only on files that passed the one before."""
    folder = resolve_dir(config_dir)
    faults: list[ConfigError] = []
    raw = {name: _collected(faults, read_toml, folder / name) for name in (WEIGHTS, PAY_BANDS, FIELDS, CALENDAR)}
    _raise(faults)
    dated = {name: _collected(faults, select, raw[name], folder / name, period) for name in (WEIGHTS, PAY_BANDS, CALENDAR)}
    _raise(faults)
    weights = build(rules.WeightsVersion, dated[WEIGHTS], folder / WEIGHTS, _version_key(dated[WEIGHTS]), faults)
    pay = build(rules.PayVersion, dated[PAY_BANDS], folder / PAY_BANDS, _version_key(dated[PAY_BANDS]), faults)
    timeline = build(rules.CalendarVersion, dated[CALENDAR], folder / CALENDAR, _version_key(dated[CALENDAR]), faults)
    overrides = build(rules.CalendarOverrides, _overrides_part(raw[CALENDAR]), folder / CALENDAR, "", faults)
    declared = build(rules.Fields, raw[FIELDS], folder / FIELDS, "", faults)
    _raise(faults)
    fields = declared.fields + tuple(_judgement_field(item) for item in weights.items if item.kind == "judgement")
    _cross_check(weights, fields, folder, faults)
    _raise(faults)
    version = rules.RulesVersion(
        weights_effective=weights.effective, pay_bands_effective=pay.effective, calendar_effective=timeline.effective,
        sha256=content_hash(dated[WEIGHTS], dated[PAY_BANDS], raw[FIELDS], dated[CALENDAR], _overrides_part(raw[CALENDAR])),
        config_dir=str(folder),
    )
    return rules.Ruleset(period=period, weights=weights, pay=pay, fields=fields, timeline=timeline,
                         overrides=overrides, version=version)


def _collected(faults: list[ConfigError], step, *args):
    """``step(*args)``, or None with its ConfigError added to ``faults``."""
    try:
        return step(*args)
    except ConfigError as error:
        faults.extend(error.faults)
        return None


def _raise(faults: list[ConfigError]) -> None:
    """Raise one ConfigError carrying every fault collected so far, if any."""
    if faults:
        raise ConfigError.of(faults)


def _overrides_part(raw_calendar: dict) -> dict:
    return {key: value for key, value in raw_calendar.items() if key != "version"}


def read_toml(path: Path) -> dict:
    """A TOML file as a dict with every float read as an exact Decimal."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle, parse_float=Decimal)
    except FileNotFoundError:
        raise ConfigError(str(path), "(file)", "file not found; a config directory holds "
                          f"{WEIGHTS}, {PAY_BANDS}, {FIELDS} and {CALENDAR}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "(syntax)", f"not valid TOML: {exc}") from None


def select(raw: dict, path: Path, period: str) -> dict:
    """The latest ``[[version]]`` whose ``effective`` month is not after ``period``."""
    versions = _versions(raw, path)
    in_force = [v for v in versions if str(v.get("effective", "")) <= period]
    if not in_force:
        first = versions[0].get("effective")
        raise ConfigError(str(path), "version", f"no version in force for {period}: the earliest takes effect {first}",
                          examples.VERSION)
    return in_force[-1]


def _versions(raw: dict, path: Path) -> list[dict]:
    versions = raw.get("version")
    if not isinstance(versions, list) or not versions:
        raise ConfigError(str(path), "version", "the file must hold one or more [[version]] tables", examples.VERSION)
    months = [str(v.get("effective", "")) for v in versions]
    if months != sorted(set(months)) or len(set(months)) != len(months):
        raise ConfigError(str(path), "version.effective",
                          f"versions must be listed oldest first, each month once; found {months}", examples.VERSION)
    return versions


def build(model: type[pydantic.BaseModel], raw: dict, path: Path, prefix: str,
          faults: list[ConfigError] | None = None):
    """``model`` built from ``raw``. Every fault becomes a ConfigError: added to ``faults``
    (and None returned) when a list is given, else raised together."""
    try:
        return model.model_validate(raw)
    except pydantic.ValidationError as exc:
        found = [_fault(raw, error, path, prefix) for error in exc.errors(include_url=False)]
        if faults is None:
            raise ConfigError.of(found) from None
        faults.extend(found)
        return None


def _fault(raw: dict, error: dict, path: Path, prefix: str) -> ConfigError:
    """One pydantic error as a ConfigError naming the file, the key and an example."""
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "this key is required but missing"
    elif error["type"] == "extra_forbidden":
        message = "unknown key (check its spelling)"
    return ConfigError(str(path), _key(raw, error["loc"], prefix), message, examples.for_location(error["loc"]))


def _version_key(raw: dict) -> str:
    return f"version[effective={raw.get('effective')}]"


def _key(raw: dict, loc: tuple, prefix: str) -> str:
    """A readable key path: version[effective=2020-01].items[id=conversion].tiers[1].min."""
    parts, node = [prefix] if prefix else [], raw
    for step in loc:
        if isinstance(node, dict) and step == node.get("kind") and step not in node:
            continue  # a union's tag (pydantic puts the matched kind in the path)
        if isinstance(step, int):
            node = node[step] if isinstance(node, (list, tuple)) and step < len(node) else None
            ident = node.get("id") if isinstance(node, dict) else None
            parts[-1] += f"[id={ident}]" if ident else f"[{step}]"
        else:
            node = node.get(step) if isinstance(node, dict) else None
            parts.append(str(step))
    return ".".join(parts) or "(top)"


def _judgement_field(item: rules.JudgementItem) -> rules.InputField:
    """The input column of a qualitative item: points 0..max in increments."""
    return rules.InputField(id=item.id, label=item.label, type="number", required=True,
                            min=Decimal(0), max=item.max, increment=item.increment)


def _cross_check(weights: rules.WeightsVersion, fields: tuple[rules.InputField, ...], folder: Path,
                 faults: list[ConfigError]) -> None:
    """Every field a measure reads must be an input column (every fault added to ``faults``)."""
    known = {f.id for f in fields}
    for item in weights.items:
        if item.kind != "tiered":
            continue
        missing = [field_id for field_id in item.measure.fields() if field_id not in known]
        for field_id in missing:
            faults.append(ConfigError(str(folder / WEIGHTS), f"version[effective={weights.effective}].items[id={item.id}].measure",
                                      f"reads field {field_id!r}, which {FIELDS} does not define", examples.MEASURE))
        if not missing:
            _collected(faults, _check_denominator, weights, item, {f.id: f for f in fields}, folder)
    for f in fields:
        if f.at_most and f.at_most not in known:
            faults.append(ConfigError(str(folder / FIELDS), f"fields[id={f.id}].at_most",
                                      f"names unknown field {f.at_most!r}", examples.FIELD))


def _check_denominator(weights, item: rules.TieredItem, fields: dict, folder: Path) -> None:
    """A ratio whose denominator may be 0 must say what a zero denominator counts as."""
    spec = item.measure
    if spec.kind != "ratio" or spec.denominator is None or spec.zero_denominator is not None:
        return
    bound = fields[spec.denominator]
    if bound.min is None or bound.min < 0 or (bound.min == 0 and not bound.min_exclusive):
        raise ConfigError(str(folder / WEIGHTS), f"version[effective={weights.effective}].items[id={item.id}].measure",
                          f"{spec.denominator} may be 0; add zero_denominator (the value used then)", examples.MEASURE)


def content_hash(*parts: dict) -> str:
    """sha256 of the canonical JSON of the config parts used."""
    canonical = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
