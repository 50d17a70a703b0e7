"""Platform exports into kpi's fields, and export rows to agents (pure).

An export (千牛 客服绩效 …) is a grid of cells, read by :mod:`kpi.io.readers`. With the
:class:`kpi.core.profile.Profile` that describes it, this module finds the header
row, reads each account's figures exactly (``￥1,234.56``, ``32.97%``, ``1分23秒``),
skips summary rows, refuses cells the platform has not finished counting
(``延时统计``: never read as 0), checks that the export covers exactly the month,
and matches each account (``店铺:子账号`` or the bare ``子账号``) to the agent whose
roster lists it. Every problem is collected as an :class:`~kpi.core.errors.InputProblem`;
a caller that gets one writes nothing.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import NamedTuple

from kpi.core.errors import InputProblem
from kpi.core.identity import fold_text
from kpi.core.period import Period
from kpi.core.profile import Profile
from kpi.core.inputs import Grid, normalise_header, parse_number


ACCOUNT_SEPARATORS = re.compile(r"[;；,，、\n\r]+")
_DATE = r"(\d{4})\s*[-/.年]?\s*(\d{1,2})\s*[-/.月]?\s*(\d{1,2})\s*日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?"
_RANGE = re.compile(_DATE + r"\s*(?:_|~|-|–|—|至|到|to)\s*" + _DATE)
_NAME_RANGE = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})[_\-~至](\d{4})(\d{2})(\d{2})(?!\d)")
_SECONDS = re.compile(r"^(?:(\d+)(?:小时|时|h))?(?:(\d+)(?:分钟|分|m|min))?(?:(\d+(?:\.\d+)?)(?:秒|s|sec))?$")
_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


# ------------------------------------------------------------------ values
def parse_value(value: object, fmt: str) -> Decimal | None:
    """The exact value of an export cell written in format ``fmt``; None when it cannot be read.

    count / number: ``1,234``; money: ``￥1,234.56``; percent and ratio: ``32.97%`` or
    ``0.3297`` (both 0.3297); seconds: ``83``, ``83秒``, ``1分23秒``, ``0:01:23``.
    """
    if isinstance(value, datetime.time):
        return Decimal(value.hour * 3600 + value.minute * 60 + value.second) if fmt == "seconds" else None
    if fmt in ("percent", "ratio") and isinstance(value, str):
        text = fold_text(value)
        if text.endswith("%"):
            number = parse_number(text[:-1])
            return None if number is None else number / 100
    if fmt == "seconds" and isinstance(value, str):
        return _seconds(fold_text(value).replace(" ", ""))
    return parse_number(value, money=fmt == "money")


def _seconds(text: str) -> Decimal | None:
    clock = _CLOCK.match(text)
    if clock:
        hours, minutes, seconds = clock.groups()
        return Decimal(int(hours or 0) * 3600 + int(minutes) * 60) + Decimal(seconds)
    words = _SECONDS.match(text)
    if words and any(words.groups()):
        hours, minutes, seconds = words.groups()
        return Decimal(int(hours or 0) * 3600 + int(minutes or 0) * 60) + Decimal(seconds or 0)
    return parse_number(text)


# ------------------------------------------------------------------ recognising an export
def alternatives(text: str) -> set[str]:
    """A header word with its aliases (``旺旺昵称|客服昵称``), folded for matching."""
    return {normalise_header(part) for part in text.split("|") if part.strip()}


def _header_index(values: Sequence[object]) -> dict[str, int]:
    index: dict[str, int] = {}
    for col, value in enumerate(values):
        index.setdefault(normalise_header(value), col)
    return index


def is_header(values: Sequence[object], profile: Profile) -> bool:
    """Whether a row holds every header word of the profile."""
    index = _header_index(values)
    return all(alternatives(word) & index.keys() for word in profile.header_words)


def recognise(file_name: str, rows: Sequence[tuple[int, Sequence[object]]],
              profiles: Sequence[Profile]) -> Profile | None:
    """The profile for an export: the first whose header words appear in its first rows,
    preferring one whose file name pattern fits; None when no profile reads it."""
    reading = [p for p in profiles if any(is_header(v, p) for _, v in rows[:p.header_rows])]
    named = [p for p in reading if p.matches_name(file_name)]
    return (named or reading or [None])[0]


# ------------------------------------------------------------------ the month an export covers
def date_range(file_name: str, rows: Sequence[tuple[int, Sequence[object]]], header_row: int, where,
               ) -> tuple[list[tuple[datetime.date, datetime.date, str]], list[str]]:
    """Every date range stated in the file name (``_20260901_20260930_``) or in a title cell
    above the header, with where it was found; and where a range holds no real dates."""
    found: list = []
    bad: list = []
    for match in _NAME_RANGE.finditer(fold_text(file_name)):
        _add_range(match.groups(), file_name, found, bad)
    for number, values in rows:
        if number >= header_row:
            break
        for col, value in enumerate(values):
            for match in _RANGE.finditer(fold_text(value) if isinstance(value, str) else ""):
                _add_range(match.groups(), where(number, col), found, bad)
    return found, bad


def _add_range(parts, where: str, found: list, bad: list) -> None:
    try:
        start = datetime.date(int(parts[0]), int(parts[1]), int(parts[2]))
        end = datetime.date(int(parts[3]), int(parts[4]), int(parts[5]))
    except ValueError:
        bad.append(where)
        return
    found.append((start, end, where))


def month_bounds(period: str) -> tuple[datetime.date, datetime.date]:
    """First and last day of the month ``period``."""
    month = Period(period)
    return month.first_day, month.last_day


# ------------------------------------------------------------------ reading an export
class ExportRow(NamedTuple):
    """One account's figures in an export: values by kpi field, and the cell each came from."""

    account: str
    values: dict[str, Decimal]
    cells: dict[str, str]
    where: str          # the account's cell, e.g. ``Sheet1!A5``
    source: str         # the file name


class Export(NamedTuple):
    """What an export holds: its profile, the account rows, and every problem found."""

    source: str
    profile: Profile | None
    rows: list[ExportRow]
    problems: list[InputProblem]
    absent: tuple[str, ...] = ()   # fields of the profile whose column the export lacks


def read_export(grid: Grid, profiles: Sequence[Profile], period: str, field_types: Mapping[str, str]) -> Export:
    """The account rows of an export grid, checked against ``period`` (YYYY-MM).

    ``field_types``: kpi field id → its type (count values must be whole, none negative)."""
    grid = grid._replace(where=in_file(grid.source, grid.where))
    rows = list(grid.rows)
    profile = recognise(grid.source, rows, profiles)
    if profile is None:
        return Export(grid.source, None, [], [_unrecognised(grid.source, profiles)])
    header = next(((n, v) for n, v in rows[:profile.header_rows] if is_header(v, profile)), None)
    number, values = header
    problems = _check_period(grid, rows, number, period)
    columns, account_col = _columns(values, profile)
    if account_col is None:
        problems.append(_problem(grid.where(number, None), "import_no_account_column",
                                 headers="|".join(profile.account.headers)))
        return Export(grid.source, profile, [], problems)
    read = []
    for row_number, cells in rows:
        if row_number <= number:
            continue
        row = _read_row(grid, profile, row_number, cells, columns, account_col, field_types, problems)
        if row is not None:
            read.append(row)
    if not read and not problems:
        problems.append(_problem(grid.source, "import_no_rows"))
    absent = tuple(c.field for c in profile.columns if c.field not in columns)
    return Export(grid.source, profile, read, problems, absent)


def _unrecognised(source: str, profiles: Sequence[Profile]) -> InputProblem:
    """No profile reads the file: name the header words missing when its name fits a profile."""
    named = next((p for p in profiles if p.matches_name(source)), None)
    if named is not None:
        return _problem(source, "import_header_not_found", profile=named.label.zh, rows=named.header_rows,
                        words="、".join(named.header_words))
    return _problem(source, "import_unknown_export", known="、".join(p.label.zh for p in profiles))


def in_file(source: str, where):
    """A locator naming the file as well: ``[export.xlsx]Sheet1!D5`` (a CSV's cells already name it)."""
    def located(row: int, col: int | None) -> str:
        cell = where(row, col)
        return cell if cell.startswith(source) else f"[{source}]{cell}"
    return located


def _problem(location: str, code: str, agent: str = "", field: str = "", value: str = "", **params) -> InputProblem:
    return InputProblem(agent, field, location, value, code, tuple((k, str(v)) for k, v in params.items()))


def _check_period(grid: Grid, rows, header_row: int, period: str) -> list[InputProblem]:
    """The export must state its date range, and each range stated must be exactly the month."""
    found, bad = date_range(grid.source, rows, header_row, grid.where)
    first, last = month_bounds(period)
    if bad:
        return [_problem(where, "import_bad_date_range", period=period) for where in bad]
    if not found:
        return [_problem(grid.source, "import_no_date_range", period=period)]
    return [_problem(where, "import_wrong_period", period=period, start=start.isoformat(), end=end.isoformat(),
                     first=first.isoformat(), last=last.isoformat())
            for start, end, where in found if (start, end) != (first, last)]


def _columns(values: Sequence[object], profile: Profile) -> tuple[dict[str, tuple[int, str]], int | None]:
    """field → (column, format) for each column of the profile the header holds; the account's column."""
    index = _header_index(values)
    columns = {}
    for column in profile.columns:
        hit = [index[name] for name in (normalise_header(h) for h in column.headers) if name in index]
        if hit:
            columns[column.field] = (hit[0], column.format)
    account = [index[name] for name in (normalise_header(h) for h in profile.account.headers) if name in index]
    return columns, (account[0] if account else None)


def _read_row(grid: Grid, profile: Profile, number: int, cells: Sequence[object], columns, account_col,
              field_types: Mapping[str, str], problems: list[InputProblem]) -> ExportRow | None:
    cell = lambda col: cells[col] if col is not None and col < len(cells) else None  # noqa: E731
    if all(blank(v) for v in cells) or _is_summary(cells, profile):
        return None
    account = fold_text(identity_text(cell(account_col)))
    where = grid.where(number, account_col)
    if not account:  # a footnote row is skipped; figures without an account are not
        if any(not blank(cell(col)) for col, _ in columns.values()):
            problems.append(_problem(where, "import_no_account"))
        return None
    values, sources, found = {}, {}, []
    for field, (col, fmt) in columns.items():
        raw, location = cell(col), grid.where(number, col)
        shown = "" if raw is None else fold_text(raw)
        if blank(raw):
            continue  # an empty cell leaves the sheet's cell as it is
        if any(word in shown for word in profile.not_final_words):
            found.append(_problem(location, "import_not_final", field=field, value=shown, account=account))
            continue
        value = parse_value(raw, fmt)
        if value is None:
            found.append(_problem(location, "import_unreadable", field=field, value=shown, account=account, format=fmt))
        elif value < 0 or (field_types.get(field) == "count" and value != value.to_integral_value()):
            found.append(_problem(location, "import_not_count" if value >= 0 else "import_negative",
                                  field=field, value=shown, account=account))
        else:
            values[field], sources[field] = value, location
    problems.extend(found)
    return ExportRow(account, values, sources, where, grid.source)


def blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _is_summary(cells: Sequence[object], profile: Profile) -> bool:
    words = {normalise_header(w) for w in profile.summary_words}
    return any(isinstance(v, str) and normalise_header(v) in words for v in cells)


# ------------------------------------------------------------------ who is who
def split_accounts(text: object) -> tuple[str, ...]:
    """The accounts of a roster cell: several separated by ; , 、 or a new line (half or full width)."""
    return tuple(part for part in (fold_text(p) for p in ACCOUNT_SEPARATORS.split(str(text or ""))) if part)


def account_key(account: str) -> tuple[str, str]:
    """(shop, sub-account) of ``店铺:子账号``, folded; ("", account) for a bare name."""
    text = re.sub(r"\s*:\s*", ":", fold_text(account)).casefold()
    shop, _, sub = text.rpartition(":")
    return shop, sub


class Agent(NamedTuple):
    """An agent of the fill-in sheet as the import sees it."""

    agent_id: str
    name: str
    accounts: tuple[str, ...]


class Matched(NamedTuple):
    """Export rows by agent id; rows that match nobody; agents no row matched; problems."""

    by_agent: dict[str, list[ExportRow]]
    unmatched: list[ExportRow]
    missing: list[Agent]
    problems: list[InputProblem]


def match(rows: Iterable[ExportRow], agents: Sequence[Agent]) -> Matched:
    """Each export row to the one agent whose roster lists its account.

    ``店铺:子账号`` matches the same full account, or a bare ``子账号`` on the roster;
    a bare account in the export matches a roster entry of that sub-account in any shop.
    A row two agents could claim, and an account exported twice, are problems.
    """
    full: dict[tuple[str, str], set[str]] = {}
    bare: dict[str, set[str]] = {}
    for agent in agents:
        for account in agent.accounts:
            shop, sub = account_key(account)
            full.setdefault((shop, sub), set()).add(agent.agent_id)
            bare.setdefault(sub, set()).add(agent.agent_id)
    out = Matched({}, [], [], [])
    seen: dict[tuple[str, str], str] = {}
    for row in rows:
        key = account_key(row.account)
        if key in seen:
            out.problems.append(_problem(row.where, "import_duplicate_account", account=row.account, other=seen[key]))
            continue
        seen[key] = row.where
        owners = _owners(key, full, bare)
        if len(owners) > 1:
            out.problems.append(_problem(row.where, "import_ambiguous_account", account=row.account,
                                         agents="、".join(sorted(owners))))
        elif owners:
            out.by_agent.setdefault(owners.pop(), []).append(row)
        else:
            out.unmatched.append(row)
    out.missing.extend(a for a in agents if a.agent_id not in out.by_agent)
    return out


def _owners(key: tuple[str, str], full: dict, bare: dict) -> set[str]:
    shop, sub = key
    if shop:
        return set(full.get((shop, sub), set()) | full.get(("", sub), set()))
    return set(bare.get(sub, set()))


def combined(rows: Sequence[ExportRow]) -> tuple[dict[str, Decimal], dict[str, str]]:
    """An agent's figures: the sum over their accounts' rows (counts and money add up),
    and where each came from."""
    values: dict[str, Decimal] = {}
    cells: dict[str, list[str]] = {}
    for row in rows:
        for field, value in row.values.items():
            values[field] = values.get(field, Decimal(0)) + value
            cells.setdefault(field, []).append(row.cells[field])
    return values, {field: " + ".join(where) for field, where in cells.items()}


# ------------------------------------------------------------------ what changes
class Change(NamedTuple):
    """A cell of the fill-in sheet the import writes: its old value (None: empty) and the new one."""

    agent_id: str
    field: str
    location: str
    old: Decimal | str | None
    new: Decimal
    source: str


def differs(old: object, new: Decimal) -> bool:
    """Whether writing ``new`` changes a cell that holds ``old``."""
    if blank(old):
        return True
    number = parse_number(old, money=True)
    return number is None or number != new


# ------------------------------------------------------------------ the roster's 旺旺账号 column
ACCOUNT_HEADERS = frozenset(normalise_header(h) for h in ("旺旺账号", "旺旺", "旺旺子账号", "Wangwang accounts",
                                                           "wangwang", "accounts"))


def accounts_column(values: Sequence[object]) -> int | None:
    """The column of a header row that holds the agents' 旺旺 accounts, if any."""
    return next((col for col, value in enumerate(values) if normalise_header(value) in ACCOUNT_HEADERS), None)


def roster_accounts(grid: Grid, id_headers: Iterable[str], scan: int = 10) -> dict[str, tuple[str, ...]] | None:
    """工号 → the accounts listed for the agent, from a roster or sheet with a 旺旺账号 column;
    None when it has none. ``id_headers``: the folded headers of the 工号 column."""
    ids = set(id_headers)
    rows = iter(grid.rows)
    for number, values in rows:
        id_col = next((col for col, value in enumerate(values) if normalise_header(value) in ids), None)
        account_col = accounts_column(values)
        if id_col is not None and account_col is not None:
            return _accounts_below(rows, id_col, account_col)
        if number >= scan:
            break
    return None


def _accounts_below(rows, id_col: int, account_col: int) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for _, values in rows:
        agent_id = identity_text(values[id_col] if id_col < len(values) else None)
        if agent_id:
            found[agent_id] = split_accounts(identity_text(values[account_col] if account_col < len(values) else None))
    return found


def identity_text(value: object) -> str:
    """An id as typed: 1001.0 from Excel is '1001'."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()
