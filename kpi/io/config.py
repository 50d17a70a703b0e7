"""Finding, reading and checking the config directory.

The pipeline is visible: read TOML (floats as Decimal) → pick the version in
force for the month → build frozen models → cross-check the files against each
other. Every failure becomes a :class:`kpi.core.errors.ConfigError` naming the file,
the key (with item ids where there are any) and a correct example.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import tomllib
import typing
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import pydantic

from kpi.core import calendar, examples, rules
from kpi.core.errors import ConfigError, RuleFault
from kpi.core.period import Period

WEIGHTS, PAY_BANDS, FIELDS, CALENDAR = "weights.toml", "pay_bands.toml", "fields.toml", "calendar.toml"


def default_dir() -> Path:
    """The config shipped with kpi: inside the installed package, else the repo's."""
    packaged = Path(str(resources.files("kpi"))) / "config"
    if (packaged / WEIGHTS).is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "config"


def resolve_dir(config_dir: str | os.PathLike | None) -> Path:
    """The directory to read: the one given, else the shipped default."""
    return Path(config_dir) if config_dir else default_dir()


def load(config_dir: str | os.PathLike | None, period: str) -> rules.Ruleset:
    """The :class:`~kpi.core.rules.Ruleset` in force for ``period`` (YYYY-MM; PeriodError if it is none)."""
    period = Period(period)
    folder = resolve_dir(config_dir)
    found: list[ConfigError] = []
    raw = {name: _collected(found, read_toml, folder / name) for name in FILES}
    _raise(found)
    dated = {name: _collected(found, select, raw[name], folder / name, period) for name in DATED}
    _raise(found)
    return assemble(raw, dated, {name: folder / name for name in FILES}, period, folder)


def _collected(found: list[ConfigError], step, *args):
    """``step(*args)``, or None with its faults added to ``found``."""
    try:
        return step(*args)
    except ConfigError as error:
        found.extend(error.parts)
        return None


def _raise(found: list[ConfigError]) -> None:
    """Raise one ConfigError carrying every fault found so far, if any: the user mends them at once."""
    if found:
        raise ConfigError.of(found)


FILES = (WEIGHTS, PAY_BANDS, FIELDS, CALENDAR)
DATED = (WEIGHTS, PAY_BANDS, CALENDAR)  # the files made of [[version]] tables


def assemble(raw: dict[str, dict], dated: dict[str, dict], paths: dict[str, Path], period: str,
             folder: Path) -> rules.Ruleset:
    """The Ruleset of ``period`` from the files as read (``raw``, file name → table), the version
    picked of each dated file (``dated``) and where each file was read (``paths``, for errors):
    what :func:`load` does once it has read a directory, and what a proposal
    (:mod:`kpi.io.proposal`) does with its own files laid over the rules in force. Every fault of
    every file is reported together."""
    _raise([*faults(rules.WeightsVersion, dated[WEIGHTS], paths[WEIGHTS], _version_key(dated[WEIGHTS])),
            *faults(rules.PayVersion, dated[PAY_BANDS], paths[PAY_BANDS], _version_key(dated[PAY_BANDS])),
            *faults(rules.CalendarVersion, dated[CALENDAR], paths[CALENDAR], _version_key(dated[CALENDAR])),
            *faults(rules.CalendarOverrides, overrides_part(raw[CALENDAR]), paths[CALENDAR], ""),
            *faults(rules.Fields, raw[FIELDS], paths[FIELDS], "")])
    weights = build(rules.WeightsVersion, dated[WEIGHTS], paths[WEIGHTS], _version_key(dated[WEIGHTS]))
    pay = build(rules.PayVersion, dated[PAY_BANDS], paths[PAY_BANDS], _version_key(dated[PAY_BANDS]))
    timeline = build(rules.CalendarVersion, dated[CALENDAR], paths[CALENDAR], _version_key(dated[CALENDAR]))
    overrides = build(rules.CalendarOverrides, overrides_part(raw[CALENDAR]), paths[CALENDAR], "")
    declared = build(rules.Fields, raw[FIELDS], paths[FIELDS], "")
    fields = _ordered_fields(declared, weights)
    _cross_check(weights, fields, paths)
    version = rules.RulesVersion(
        weights_effective=weights.effective, pay_bands_effective=pay.effective, calendar_effective=timeline.effective,
        sha256=content_hash(dated[WEIGHTS], dated[PAY_BANDS], raw[FIELDS], dated[CALENDAR], overrides_part(raw[CALENDAR])),
        config_dir=str(folder),
    )
    return rules.Ruleset(period=period, weights=weights, pay=pay, fields=fields, timeline=timeline,
                         overrides=overrides, version=version, item_comments=declared.item_comments,
                         money_decimals=declared.money_decimals)


def overrides_part(raw_calendar: dict) -> dict:
    """calendar.toml's company overrides: every key but its dated ``[[version]]`` tables."""
    return {key: value for key, value in raw_calendar.items() if key != "version"}


def read_toml(path: Path) -> dict:
    """A TOML file as a dict with every float read as an exact Decimal."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle, parse_float=Decimal)
    except FileNotFoundError:
        raise ConfigError(str(path), "(file)", "file not found; a config directory holds "
                          f"{WEIGHTS}, {PAY_BANDS}, {FIELDS} and {CALENDAR}", code="config_file_missing",
                          params=(("files", ", ".join(FILES)),)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "(syntax)", f"not valid TOML: {exc}", code="config_not_toml",
                          params=(("reason", str(exc)),)) from None


def select(raw: dict, path: Path, period: str) -> dict:
    """The latest ``[[version]]`` whose ``effective`` month is not after ``period``."""
    versions = versions_of(raw, path)
    in_force = [v for v in versions if str(v.get("effective", "")) <= period]
    if not in_force:
        first = versions[0].get("effective")
        raise ConfigError(str(path), "version", f"no version in force for {period}: the earliest takes effect {first}",
                          examples.VERSION, code="config_no_version_in_force",
                          params=(("period", str(period)), ("first", str(first))))
    return in_force[-1]


def versions_of(raw: dict, path: Path) -> list[dict]:
    """The ``[[version]]`` tables of a dated file, checked to be listed oldest first, each month once."""
    versions = raw.get("version")
    if not isinstance(versions, list) or not versions:
        raise ConfigError(str(path), "version", "the file must hold one or more [[version]] tables", examples.VERSION,
                          code="config_no_versions")
    months = [str(v.get("effective", "")) for v in versions]
    if months != sorted(set(months)) or len(set(months)) != len(months):
        raise ConfigError(str(path), "version.effective",
                          f"versions must be listed oldest first, each month once; found {months}", examples.VERSION,
                          code="config_versions_order", params=(("months", ", ".join(months)),))
    return versions


def build(model: type[pydantic.BaseModel], raw: dict, path: Path, prefix: str):
    """``model`` built from ``raw``; the first fault becomes a ConfigError."""
    try:
        return model.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise _config_error(exc.errors(include_url=False)[0], raw, path, prefix, model) from None


def faults(model: type[pydantic.BaseModel], raw: dict, path: Path, prefix: str) -> list[ConfigError]:
    """Every fault of ``raw`` as ``model``, each a ConfigError with file and key ([] when valid):
    a proposal is reported whole, not fault by fault."""
    try:
        model.model_validate(raw)
    except pydantic.ValidationError as exc:
        return [_config_error(error, raw, path, prefix, model) for error in exc.errors(include_url=False)]
    return []


def _config_error(error: dict, raw: dict, path: Path, prefix: str,
                  model: type[pydantic.BaseModel] | None = None) -> ConfigError:
    said = describe(error, model)
    return ConfigError(str(path), key_path(raw, error["loc"], prefix), said.message, examples.for_location(said.loc),
                       code=said.code, params=said.params)


class Said(NamedTuple):
    """A validation error of a config file as said to its editor: the English ``message``, the
    same as a message key and its values (``code``, ``params``) for the reader's language, and
    the place whose example helps (``loc``)."""

    message: str
    loc: tuple
    code: str = "config_problem"
    params: tuple[tuple[str, str], ...] = ()


# pydantic's error types → the message key saying the same in the reader's language
_TYPE_CODES = {
    **dict.fromkeys(("decimal_parsing", "decimal_type", "float_parsing", "float_type", "finite_number"),
                    "config_not_number"),
    **dict.fromkeys(("int_parsing", "int_type", "int_from_float"), "config_not_whole"),
    **dict.fromkeys(("bool_parsing", "bool_type"), "config_not_bool"),
    "string_type": "config_not_text",
    **dict.fromkeys(("literal_error", "enum"), "config_choice"),
    **dict.fromkeys(("list_type", "tuple_type", "set_type", "frozen_set_type"), "config_not_list"),
    **dict.fromkeys(("dict_type", "model_type", "model_attributes_type"), "config_not_table"),
    **dict.fromkeys(("date_parsing", "date_type", "date_from_datetime_parsing", "date_from_datetime_inexact"),
                    "config_not_date"),
    "greater_than": "config_gt", "greater_than_equal": "config_ge", "less_than": "config_lt",
    "less_than_equal": "config_le",
}
_PATTERN_CODES = {rules.MONTH_PATTERN: "config_not_month", rules.MONTH_DAY_PATTERN: "config_not_month_day"}


def describe(error: dict, model: type[pydantic.BaseModel] | None = None) -> Said:
    """A validation error of a config file as said to its editor (:class:`Said`): an unknown key
    names the nearest key ``model`` knows (and takes its example)."""
    loc, kind, ctx = error["loc"], error["type"], error.get("ctx") or {}
    if kind == "missing":
        return Said("this key is required but missing", loc, "config_missing")
    if kind == "extra_forbidden":
        near = _nearest_key(model, loc)
        if near:
            return Said(f"unknown key (check its spelling); did you mean {near}?", (*loc[:-1], near),
                        "config_unknown_key_near", (("near", near),))
        return Said("unknown key (check its spelling)", loc, "config_unknown_key")
    message = error["msg"].removeprefix("Value error, ")
    fault = ctx.get("error")
    if isinstance(fault, RuleFault):
        return Said(message, loc, fault.code, fault.params)
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in _PATTERN_CODES:
        return Said(message, loc, _PATTERN_CODES[ctx["pattern"]])
    code = _TYPE_CODES.get(kind)
    if code is None:
        return Said(message, loc)
    return Said(message, loc, code, tuple((name, str(value)) for name, value in ctx.items()
                                          if name in ("expected", "gt", "ge", "lt", "le")))


def _nearest_key(model: type[pydantic.BaseModel] | None, loc: tuple) -> str:
    """The key of ``model`` (or of the tables inside it) nearest to the unknown last key of
    ``loc``: ``extra_day_off`` → ``extra_days_off`` ("" when none is near)."""
    if model is None or not loc or not isinstance(loc[-1], str):
        return ""
    near = difflib.get_close_matches(loc[-1], sorted(_keys(model)), n=1, cutoff=0.7)
    return near[0] if near else ""


def _keys(model: type, seen: frozenset = frozenset()) -> set[str]:
    """Every key ``model`` and the models in its fields' types accept."""
    if not (isinstance(model, type) and issubclass(model, pydantic.BaseModel)) or model in seen:
        return set()
    found = set()
    for name, info in model.model_fields.items():
        found.add(info.alias or name)
        for inner in _types_in(info.annotation):
            found |= _keys(inner, seen | {model})
    return found


def _types_in(annotation) -> list:
    """The classes named anywhere in a type annotation (list[Tier] | None → [list, Tier, NoneType])."""
    args = typing.get_args(annotation)
    return [annotation] + [inner for arg in args for inner in _types_in(arg)]


def _version_key(raw: dict) -> str:
    return f"version[effective={raw.get('effective')}]"


def key_path(raw: dict, loc: tuple, prefix: str) -> str:
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


def _ordered_fields(declared: rules.Fields, weights: rules.WeightsVersion) -> tuple[rules.InputField, ...]:
    """The sheet's columns: the declared ones, each qualitative item with its comment column
    right after it, then the month's comment (评语) last."""
    plain = tuple(f for f in declared.fields if f.comment_for is None)
    month = tuple(f for f in declared.fields if f.comment_for is not None)
    judged = []
    for item in weights.items:
        if item.kind == "judgement":
            judged += [_judgement_field(item), _item_comment_field(item, declared.item_comment_length)]
    return plain + tuple(judged) + month


def _item_comment_field(item: rules.JudgementItem, length: int) -> rules.InputField:
    """The optional comment on a qualitative item (its label + 评语)."""
    return rules.InputField(id=f"{item.id}_comment", type="text", required=False, max_length=length,
                            comment_for=item.id, label=rules.Label(zh=f"{item.label.zh}评语", en=f"{item.label.en} comment"),
                            aliases=(f"{item.label.zh}备注", f"{item.id} comment"))


def _judgement_field(item: rules.JudgementItem) -> rules.InputField:
    """The input column of a qualitative item: points 0..max in increments."""
    return rules.InputField(id=item.id, label=item.label, type="number", required=True,
                            min=Decimal(0), max=item.max, increment=item.increment)


def _cross_check(weights: rules.WeightsVersion, fields: tuple[rules.InputField, ...], paths: dict[str, Path]) -> None:
    """Every field a measure reads must be an input column."""
    known = {f.id for f in fields}
    for item in weights.items:
        if item.kind != "tiered":
            continue
        for field_id in item.measure.fields():
            if field_id not in known:
                raise ConfigError(str(paths[WEIGHTS]), f"version[effective={weights.effective}].items[id={item.id}].measure",
                                  f"reads field {field_id!r}, which {FIELDS} does not define", examples.MEASURE,
                                  code="config_measure_field", params=(("name", field_id), ("fields", FIELDS)))
        _check_denominator(weights, item, {f.id: f for f in fields}, paths)
    for f in fields:
        if f.at_most and f.at_most not in known:
            raise ConfigError(str(paths[FIELDS]), f"fields[id={f.id}].at_most", f"names unknown field {f.at_most!r}",
                              examples.FIELD, code="config_at_most_field", params=(("name", f.at_most),))


def _check_denominator(weights, item: rules.TieredItem, fields: dict, paths: dict[str, Path]) -> None:
    """A ratio whose denominator may be 0 must say what a zero denominator counts as."""
    spec = item.measure
    if spec.kind != "ratio" or spec.denominator is None or spec.zero_denominator is not None:
        return
    bound = fields[spec.denominator]
    if bound.min is None or bound.min < 0 or (bound.min == 0 and not bound.min_exclusive):
        raise ConfigError(str(paths[WEIGHTS]), f"version[effective={weights.effective}].items[id={item.id}].measure",
                          f"{spec.denominator} may be 0; add zero_denominator (the value used then)", examples.MEASURE,
                          code="config_zero_denominator", params=(("name", spec.denominator),))


def content_hash(*parts: dict) -> str:
    """sha256 of the canonical JSON of the config parts used."""
    canonical = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_calendar(config_dir: str | os.PathLike | None, period: str) -> calendar.CalendarRules:
    """The calendar config in force for ``period``: calendar.toml alone (its dated timeline, the
    company's overrides and recorded notices), so a broken weights or pay file does not stop the
    timeline. Its faults are those :func:`load` reports for calendar.toml, all at once."""
    period = Period(period)
    path = resolve_dir(config_dir) / CALENDAR
    found: list[ConfigError] = []
    raw = _collected(found, read_toml, path)
    _raise(found)
    dated = _collected(found, select, raw, path, period)
    _raise(found)
    _raise([*faults(rules.CalendarVersion, dated, path, _version_key(dated)),
            *faults(rules.CalendarOverrides, overrides_part(raw), path, "")])
    return calendar.CalendarRules(build(rules.CalendarVersion, dated, path, _version_key(dated)),
                                  build(rules.CalendarOverrides, overrides_part(raw), path, ""))


def newest(raw: dict, path: Path) -> dict:
    """The last ``[[version]]`` of a dated file (the one a proposal puts forward)."""
    return versions_of(raw, path)[-1]
