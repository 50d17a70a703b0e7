"""Reuse in one place (kpi/io/reuse.py, issue 21): every content key is made by one function from
named parts, and each part that changes a kept file's bytes changes its key.

For each kept file (scorecard, results.json line, ledger row, payroll, team summary sheet) the
parts are listed here, as documented; a test sees the code's parts are exactly these (a part
dropped from the module fails it), and a test per part varies it through the real key builder
and sees the key change (a part dropped from a builder fails it, or key() refuses the call).
"""

from __future__ import annotations

import datetime
import os
from decimal import Decimal
from types import SimpleNamespace

import pytest

import kpi
from helpers import EXAMPLE_CSV, results_of, ruleset
from kpi.core import calendar, scoring, table
from kpi.io import reuse
from kpi.io.writers import results_json
from kpi.ledger import db as ledger
from kpi.pipeline import month

WRITERS = {"scorecard": {"xlsxwriter", "msoffcrypto-tool", "orjson"},
           "agent": {"xlsxwriter", "msoffcrypto-tool", "orjson"},
           "payroll_xlsx": {"xlsxwriter"},
           "payroll_csv": set(),
           "summary_sheet": {"xlsxwriter"}}
PARTS = {"scorecard": {"agent", "items", "total", "pay", "comments", "rules", "lang", "deadline", "password", "seal"},
         "agent": {"period", "agent", "values", "filled", "comments", "team", "rules", "lang", "deadline", "scorecards",
                   "password", "seal"},
         "payroll_xlsx": {"name", "rules", "lang", "dates", "rows"},
         "payroll_csv": {"name", "rules", "lang", "dates", "rows"},
         "summary_sheet": {"index", "name", "team", "rules", "period", "lang", "rows"}}
ALWAYS = {"format", "kpi"}   # what key() adds to every kind, with the kind's writers' versions


@pytest.fixture(scope="module")
def month_results():
    rules_ = ruleset()
    return rules_, calendar.for_rules(rules_), results_of(EXAMPLE_CSV, rules_)


class Line(SimpleNamespace):
    """A timeline as the keys read it: a date per step, and which days are estimates."""

    def date(self, step):
        return self.dates.get(step, datetime.date(2026, 10, 9))

    def estimated(self, day):
        return day in self.estimates


def line_of(timeline, **changes):
    steps = ("confirm_deadline", "summary", "hr_finance")
    dates = {step: timeline.date(step) for step in steps}
    estimates = {dates[step] for step in steps if timeline.estimated(dates[step])}
    line = Line(dates=dates, estimates=estimates)
    for name, value in changes.items():
        setattr(line, name, value(line) if callable(value) else value)
    return line


def rules_like(rules_, sha256=None, period=None):
    """A ruleset as the keys read it (its version's sha256 and its period), one of them changed."""
    return SimpleNamespace(version=SimpleNamespace(sha256=sha256 or rules_.version.sha256),
                           period=period or rules_.period, pay=rules_.pay)


def later(line):
    return {**line.dates, "confirm_deadline": line.dates["confirm_deadline"] + datetime.timedelta(days=1)}


def test_each_kind_has_exactly_its_documented_parts_and_writers():
    assert {kind: set(k.parts) for kind, k in reuse.KINDS.items()} == PARTS
    assert {kind: set(k.writers) for kind, k in reuse.KINDS.items()} == WRITERS
    assert all(k.format for k in reuse.KINDS.values())


def test_key_refuses_a_missing_or_an_unknown_part():
    parts = dict.fromkeys(PARTS["summary_sheet"], "x")
    assert len(reuse.key("summary_sheet", **parts)) == 64
    with pytest.raises(ValueError):
        reuse.key("summary_sheet", **{name: v for name, v in parts.items() if name != "lang"})
    with pytest.raises(ValueError):
        reuse.key("summary_sheet", **parts, password="secret")


def always(kind):
    """Variations of what key() adds itself: the format tag, kpi's version, each writer's version."""
    cases = {"format": lambda mp: mp.setitem(reuse.KINDS, kind, reuse.KINDS[kind]._replace(format="other-9")),
             "kpi": lambda mp: mp.setattr(kpi, "__version__", kpi.__version__ + ".post1")}
    for library in WRITERS[kind]:
        real = reuse.version
        cases[library] = (lambda lib: lambda mp: mp.setattr(
            reuse, "version", lambda name: real(name) + "-other" if name == lib else real(name)))(library)
    return cases


# ---- the scorecard (and the results.json line and ledger row a kept card gives back)

def _card(result, rules_, line, lang="zh", password="pw-1", secret=b"s" * 32):
    return reuse.card_key(result, reuse.run(rules_, line, lang, True, secret), password)


def _agent_change(**fields):
    return lambda r: r._replace(agent=r.agent._replace(**fields))


def _pay_change(**fields):
    return lambda r: r._replace(pay=r.pay._replace(**fields))


CARD_VARIANTS = {   # documented part → ways to change it (how the card's inputs change)
    "agent": [_agent_change(agent_id="KF9999"), _agent_change(name="另一人"), _agent_change(team="别组"),
              _agent_change(level="P9")],
    "items": [lambda r: r._replace(items=(r.items[0]._replace(points=r.items[0].points + 1), *r.items[1:])),
              lambda r: r._replace(items=(r.items[0]._replace(measure=Decimal("0.123")), *r.items[1:])),
              lambda r: r._replace(items=(r.items[0]._replace(notes=("capped",)), *r.items[1:]))],
    "total": [lambda r: r._replace(total=r.total + 1)],
    "pay": [_pay_change(band=0), _pay_change(base_pay=Decimal("1")),
            _pay_change(performance_pay=Decimal("2")), _pay_change(total_pay=Decimal("3")),
            _pay_change(source="other")],
    "comments": [_agent_change(comments={"comment": "很好。"})],
}
CARD_SETTINGS = {   # documented part → changed arguments of the key
    "rules": [lambda a: {**a, "rules_": rules_like(a["rules_"], sha256="0" * 64)}],
    "lang": [lambda a: {**a, "lang": "en"}],
    "deadline": [lambda a: {**a, "line": line_of(a["line"], dates=later)},
                 lambda a: {**a, "line": line_of(a["line"], estimates={a["line"].date("confirm_deadline")})}],
    "password": [lambda a: {**a, "password": "pw-2"}, lambda a: {**a, "password": None}],
    "seal": [lambda a: {**a, "secret": b"t" * 32}, lambda a: {**a, "secret": None}],
}


def test_the_card_variants_cover_every_documented_part():
    assert CARD_VARIANTS.keys() | CARD_SETTINGS.keys() == PARTS["scorecard"]


@pytest.mark.parametrize("part, index", [(p, i) for p, ways in CARD_VARIANTS.items() for i in range(len(ways))])
def test_each_thing_a_scorecard_shows_is_in_its_key(month_results, part, index):
    rules_, timeline, results = month_results
    result, line = results[0], line_of(timeline)
    changed = CARD_VARIANTS[part][index](result)
    assert changed != result
    assert _card(changed, rules_, line) != _card(result, rules_, line)


@pytest.mark.parametrize("part, index", [(p, i) for p, ways in CARD_SETTINGS.items() for i in range(len(ways))])
def test_each_setting_of_a_scorecard_is_in_its_key(month_results, part, index):
    rules_, timeline, results = month_results
    base = {"result": results[0], "rules_": rules_, "line": line_of(timeline)}
    assert _card(**CARD_SETTINGS[part][index](base)) != _card(**base)


@pytest.mark.parametrize("kind", ["scorecard", "agent", "payroll_xlsx", "payroll_csv", "summary_sheet"])
def test_the_format_kpi_and_writer_versions_are_in_every_key(month_results, monkeypatch, kind):
    rules_, timeline, results = month_results
    line, rows = line_of(timeline), [table.row(r, "zh") for r in results]
    build = {"scorecard": lambda: _card(results[0], rules_, line),
             "agent": lambda: reuse.agent_key(results[0].agent, _team(results), reuse.run(rules_, line, "zh", True)),
             "payroll_xlsx": lambda: reuse.payroll_keys(["payroll-2026-09.xlsx"], rows, rules_, line, "zh"),
             "payroll_csv": lambda: reuse.payroll_keys(["payroll-2026-09.csv"], rows, rules_, line, "zh"),
             "summary_sheet": lambda: reuse.summary_sheet_key(0, "一组", "一组", rows, rules_, "zh")}[kind]
    before = build()
    cases = always(kind)
    assert cases.keys() == ALWAYS | WRITERS[kind]
    for name, change in cases.items():
        with monkeypatch.context() as patch:
            change(patch)
            assert build() != before, name
    assert build() == before


# ---- a results.json line: taken over with its agent's card (or whole row); what it shows is in the card key

LINE_VARIANTS = [_agent_change(name="另一人"), _agent_change(level="P9"), CARD_VARIANTS["total"][0],
                 CARD_VARIANTS["items"][0], _pay_change(performance_pay=Decimal("2")), _pay_change(total_pay=Decimal("3")),
                 _pay_change(base_pay=Decimal("1"))]


@pytest.mark.parametrize("index", range(len(LINE_VARIANTS)))
def test_what_changes_a_results_line_changes_the_card_key_that_takes_it_over(month_results, index):
    rules_, timeline, results = month_results
    result, line = results[0], line_of(timeline)
    changed = LINE_VARIANTS[index](result)
    texts = {"sales_completion": "同一说明。"}
    assert results_json.line(rules_, changed, "zh", texts) != results_json.line(rules_, result, "zh", texts)
    assert _card(changed, rules_, line) != _card(result, rules_, line)


def test_a_results_line_in_another_language_or_month_is_not_taken_over():
    head = {"period": "2026-09", "lang": "zh", "revision": 1}
    assert reuse.lines_usable(head, "2026-09", "zh", 2)
    assert not reuse.lines_usable(head, "2026-09", "en", 2)
    assert not reuse.lines_usable(head, "2026-10", "zh", 2)
    assert not reuse.lines_usable(head, "2026-09", "zh", 3)
    assert not reuse.lines_usable(None, "2026-09", "zh", 2)


# ---- an agent's whole row (its ledger row, payroll row, line and card, taken back before scoring)

def _team(results):
    agents = [r.agent for r in results]
    return scoring.contexts(ruleset(), agents)[agents[0].team]


def _value_change(field, value):
    return lambda a: {**a, "agent": a["agent"]._replace(values={**a["agent"].values, field: value})}


AGENT_VARIANTS = {
    "period": [lambda a: {**a, "settings": a["settings"]._replace(period="2026-10")}],
    "agent": [lambda a, f=f: {**a, "agent": a["agent"]._replace(**{f: "X"})} for f in ("agent_id", "name", "team", "level")],
    "values": [_value_change("sales_actual", Decimal("1")),
               lambda a: {**a, "agent": a["agent"]._replace(values={     # 5 and 5.0 stay apart
                   **a["agent"].values, "deals": a["agent"].values["deals"].quantize(Decimal("0.0"))})}],
    "filled": [lambda a: {**a, "agent": a["agent"]._replace(filled={"sales_last_month": "2026-08#1"})}],
    "comments": [lambda a: {**a, "agent": a["agent"]._replace(comments={"comment": "很好。"})}],
    "team": [lambda a: {**a, "team": a["team"]._replace(size=a["team"].size + 1)},
             lambda a: {**a, "team": a["team"]._replace(totals={**a["team"].totals, "deals": Decimal("1")})}],
    "rules": [lambda a: {**a, "settings": a["settings"]._replace(rules="0" * 64)}],
    "lang": [lambda a: {**a, "settings": a["settings"]._replace(lang="en")}],
    "deadline": [lambda a: {**a, "settings": a["settings"]._replace(deadline=("2026-10-10", False))},
                 lambda a: {**a, "settings": a["settings"]._replace(deadline=(a["settings"].deadline[0], True))}],
    "scorecards": [lambda a: {**a, "settings": a["settings"]._replace(scorecards=False)}],
    "password": [lambda a: {**a, "password": "pw-2"}, lambda a: {**a, "password": None}],
    "seal": [lambda a: {**a, "settings": a["settings"]._replace(seal=reuse.seal_id(b"t" * 32))},
             lambda a: {**a, "settings": a["settings"]._replace(seal=reuse.seal_id(None))}],
}


def test_the_agent_variants_cover_every_documented_part():
    assert AGENT_VARIANTS.keys() == PARTS["agent"]


@pytest.mark.parametrize("part, index", [(p, i) for p, ways in AGENT_VARIANTS.items() for i in range(len(ways))])
def test_each_part_of_an_agents_row_is_in_its_key(month_results, part, index):
    rules_, timeline, results = month_results
    base = {"agent": results[0].agent, "team": _team(results), "password": "pw-1",
            "settings": reuse.run(rules_, timeline, "zh", True, b"s" * 32)}
    changed = AGENT_VARIANTS[part][index](base)
    assert reuse.agent_key(**changed) != reuse.agent_key(**base)


def test_the_run_settings_follow_the_rules_timeline_and_secret(month_results):
    rules_, timeline, _ = month_results
    settings = reuse.run(rules_, timeline, "zh", True, b"s" * 32)
    deadline = timeline.date("confirm_deadline")
    assert settings == reuse.Run("2026-09", rules_.version.sha256, "zh", (str(deadline), timeline.estimated(deadline)),
                                 True, reuse.seal_id(b"s" * 32))
    assert reuse.seal_id(b"s" * 32) != reuse.seal_id(b"t" * 32) and reuse.seal_id(None) == ""
    assert "73" * 16 not in reuse.seal_id(b"s" * 32)   # the secret itself is not in the key


# ---- payroll files and team summary sheets

def _payroll(rules_, line, rows, name="payroll-2026-09.xlsx", lang="zh"):
    return reuse.payroll_keys([name], rows, rules_, line, lang)[name]


PAYROLL_VARIANTS = {
    "name": [lambda a: {**a, "name": a["name"].replace("2026-09", "2026-10")}],
    "rules": [lambda a: {**a, "rules_": rules_like(a["rules_"], sha256="0" * 64)}],
    "lang": [lambda a: {**a, "lang": "en"}],
    "dates": [lambda a: {**a, "line": line_of(a["line"], dates=lambda l: {**l.dates, "summary": datetime.date(2026, 1, 1)})},
              lambda a: {**a, "line": line_of(a["line"], dates=lambda l: {**l.dates, "hr_finance": datetime.date(2026, 1, 1)})},
              lambda a: {**a, "line": line_of(a["line"], estimates={a["line"].date("hr_finance")})}],
    "rows": [lambda a: {**a, "rows": a["rows"][1:]},
             lambda a: {**a, "rows": [a["rows"][0]._replace(pay=a["rows"][0].pay + 1), *a["rows"][1:]]},
             lambda a: {**a, "rows": [a["rows"][0]._replace(name="另一人"), *a["rows"][1:]]}],
}


def test_the_payroll_variants_cover_every_documented_part():
    assert PAYROLL_VARIANTS.keys() == PARTS["payroll_xlsx"] == PARTS["payroll_csv"]


@pytest.mark.parametrize("name", ["payroll-2026-09.xlsx", "payroll-2026-09.csv"])
@pytest.mark.parametrize("part, index", [(p, i) for p, ways in PAYROLL_VARIANTS.items() for i in range(len(ways))])
def test_each_part_of_a_payroll_file_is_in_its_key(month_results, part, index, name):
    rules_, timeline, results = month_results
    base = {"rules_": rules_, "line": line_of(timeline), "rows": [table.row(r, "zh") for r in results], "name": name}
    assert _payroll(**PAYROLL_VARIANTS[part][index](base)) != _payroll(**base)


def test_a_payroll_key_made_from_row_seals_is_the_one_made_from_the_rows(month_results):
    rules_, timeline, results = month_results
    rows = [table.row(r, "zh") for r in results]
    seals = {row.agent_id: table.seal(table.encoded(row)) for row in rows}
    assert reuse.payroll_keys(["p.csv"], rows, rules_, timeline, "zh", seals) == \
        reuse.payroll_keys(["p.csv"], rows, rules_, timeline, "zh")


def _sheet(rules_, rows, index=0, name="一组", team="一组", lang="zh"):
    return reuse.summary_sheet_key(index, name, team, rows, rules_, lang)


SHEET_VARIANTS = {
    "index": [lambda a: {**a, "index": 1}],
    "name": [lambda a: {**a, "name": "一组~2"}],
    "team": [lambda a: {**a, "team": "二组"}],
    "rules": [lambda a: {**a, "rules_": rules_like(a["rules_"], sha256="0" * 64)}],
    "period": [lambda a: {**a, "rules_": rules_like(a["rules_"], period="2026-10")}],
    "lang": [lambda a: {**a, "lang": "en"}],
    "rows": [lambda a: {**a, "rows": a["rows"][1:]},
             lambda a: {**a, "rows": [a["rows"][0]._replace(total=a["rows"][0].total + 1), *a["rows"][1:]]}],
}


def test_the_summary_variants_cover_every_documented_part():
    assert SHEET_VARIANTS.keys() == PARTS["summary_sheet"]


@pytest.mark.parametrize("part, index", [(p, i) for p, ways in SHEET_VARIANTS.items() for i in range(len(ways))])
def test_each_part_of_a_summary_sheet_is_in_its_key(month_results, part, index):
    rules_, _, results = month_results
    base = {"rules_": rules_, "rows": [table.row(r, "zh") for r in results]}
    assert _sheet(**SHEET_VARIANTS[part][index](base)) != _sheet(**base)


def test_only_sheets_at_the_same_place_with_the_same_key_are_taken():
    assert reuse.same_sheets(["a", "b", "c"], ["a", "x", "c", "d"]) == [0, 2]
    assert reuse.same_sheets([], ["a"]) == []


# ---- the fingerprint: not a content key, pinned (a new kpi must not clear every answer)

def test_the_fingerprint_keeps_its_value_and_ignores_kpis_version(month_results, monkeypatch):
    _, _, results = month_results
    pinned = reuse.fingerprint(results[0])
    assert pinned == "4617fb8529db826a3a21c7ffe7184a8b02c279a3f0052d0dd14c416b5c998916"   # as kpi always made it
    monkeypatch.setattr(kpi, "__version__", "99.0")
    monkeypatch.setattr(reuse, "version", lambda name: "99.0")
    assert reuse.fingerprint(results[0]) == pinned


# ---- decisions on files

def test_a_file_is_taken_only_with_the_same_key_while_it_is_the_one_written(tmp_path):
    path = tmp_path / "f.xlsx"
    path.write_bytes(b"one")
    stat = reuse.file_stat(path)
    assert reuse.same_file(("k", stat), "k", path)
    assert not reuse.same_file(("k", stat), "other", path)
    assert not reuse.same_file(None, "k", path)
    os.utime(path, ns=(1, 1))
    assert not reuse.same_file(("k", stat), "k", path)
    assert not reuse.same_file(("k", stat), "k", tmp_path / "gone.xlsx")


def test_a_scored_agents_row_is_copied_only_with_its_kept_card_and_a_last_revision():
    assert reuse.row_copied(True, 7)
    assert not reuse.row_copied(False, 7)
    assert not reuse.row_copied(True, None)


def test_a_row_is_carried_only_with_the_same_key_its_line_and_its_card():
    assert reuse.carried(("k", "row"), "k", True, True)
    assert not reuse.carried(("k", "row"), "other", True, True)
    assert not reuse.carried(None, "k", True, True)
    assert not reuse.carried(("k", "row"), "k", False, True)
    assert not reuse.carried(("k", "row"), "k", True, False)


# ---- a changed part really rewrites the files (not only changes the key)

def _score(out="out", **options):
    with ledger.Ledger(os.environ["KPI_DB"]) as book:
        return month.score(EXAMPLE_CSV, ruleset(), out, "zh", book, jobs=1, **options)


def _stats(folder):
    return {path.relative_to(folder).as_posix(): path.stat().st_mtime_ns
            for path in folder.rglob("*") if path.is_file() and path.suffix in (".xlsx", ".csv")}


def test_a_new_xlsxwriter_rewrites_every_workbook_and_keeps_the_rest(tmp_path, monkeypatch):
    _score()
    before = _stats(tmp_path / "out")
    again = _score()
    assert again.kept == 25 and _stats(tmp_path / "out") == before     # same parts: every file taken
    real = reuse.version
    monkeypatch.setattr(reuse, "version", lambda name: real(name) + "-new" if name == "xlsxwriter" else real(name))
    third = _score()
    after = _stats(tmp_path / "out")
    assert third.kept == 0
    assert {name for name in before if after[name] != before[name]} == {n for n in before if n.endswith(".xlsx")}


def test_a_changed_password_rewrites_that_agents_card_only(tmp_path):
    import msoffcrypto

    rules_ = ruleset()
    ids = [r.agent.agent_id for r in results_of(EXAMPLE_CSV, rules_)]
    passwords = {agent_id: f"pw-{agent_id}" for agent_id in ids}
    _score(passwords=passwords)
    before = _stats(tmp_path / "out")
    passwords[ids[3]] = "a-new-one"
    again = _score(passwords=passwords)
    after = _stats(tmp_path / "out")
    assert again.kept == 24
    changed = {name for name in before if after[name] != before[name]}
    assert {n for n in changed if n.startswith("scorecards/")} == {card := next(n for n in before if ids[3] in n)}
    with open(tmp_path / "out" / card, "rb") as handle:
        office = msoffcrypto.OfficeFile(handle)
        office.load_key(password="a-new-one", verify_password=True)   # encrypted with the new password
