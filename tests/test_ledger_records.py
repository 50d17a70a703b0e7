"""Issue 21: the ledger keeps each agent's item records, not rendered text, and renders on demand.

The records read back equal to what scoring made; ``kpi show`` in both languages, the web
page and the what-if render from them; a ledger made before (schema 6, texts stored) is
migrated, shows the same words as it did then, keeps verifying, and new revisions on it
store records whose words equal the texts stored before; an edited record breaks the chain.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import EXAMPLE_CSV, agent, baseline, example_rows, results_of, ruleset, run, write_csv
from kpi.core import explain, records, scoring
from kpi.ledger import db as ledger, revisions

LEDGERS = Path(__file__).resolve().parent / "ledgers"
OLD = LEDGERS / "schema6-2026-09.db"
SHOWN = json.loads((LEDGERS / "schema6-2026-09-shown.json").read_text(encoding="utf-8"))
RULES = ruleset()
EXPLAINERS = {lang: explain.Explainer(RULES, lang) for lang in ("zh", "en")}


def show(agent_id: str, revision: int, lang: str) -> str:
    result = run("show", agent_id, "--period", "2026-09", "--revision", revision, "--lang", lang)
    assert result.exit_code == 0, result.output
    return result.output


def old_ledger(tmp_path) -> Path:
    path = tmp_path / "old.db"
    shutil.copyfile(OLD, path)
    os.environ["KPI_DB"] = str(path)   # the conftest's monkeypatch restores it
    return path


def changed_csv(tmp_path, value: str) -> Path:
    """The example month with KF1003's 咨询应答量 set to ``value`` (the fixture's revision 2 says 400)."""
    rows = example_rows()
    column = rows[0].index("咨询应答量")
    next(r for r in rows if r[0] == "KF1003")[column] = value
    return write_csv(tmp_path / f"changed-{value}.csv", rows)


# ------------------------------------------------------------------ records, pure
def test_records_read_back_equal_to_what_scoring_made_and_render_the_same_words():
    rules_ = ruleset()
    results = results_of(EXAMPLE_CSV, rules_)
    explainers = {lang: explain.Explainer(rules_, lang) for lang in ("zh", "en")}
    scaled = 0
    for result in results:
        stored = json.loads(json.dumps(records.plain(result.items)))       # through plain JSON
        again = records.items(rules_, stored)
        assert again == result.items
        assert explain.lines(explainers, again) == explain.texts(explainers, result)
        scaled += sum("scaled" in record for record in stored)
    assert scaled > 0          # a bracket scaled to team size is kept with its record


money = st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(sales=money, target=money.filter(bool), last=money, visits=st.integers(1, 20_000), deals=st.integers(0, 500),
       orders=st.integers(0, 400), refunds=st.integers(0, 50), inquiries=st.integers(0, 2000),
       team=st.integers(1, 40))
def test_any_records_read_back_equal_and_render_the_same_words(sales, target, last, visits, deals, orders, refunds,
                                                               inquiries, team):
    """The law behind rendering on demand: records → JSON → records is the identity, so the
    words written from the ledger are the words written at scoring, whatever the figures
    (no base month, zero denominators, floors, caps, brackets scaled to any team size; figures
    the rules give no value for, a zero sales target or visit count, are not generated)."""
    rules_ = RULES
    fields = {**baseline(), "sales_actual": str(sales), "sales_target": str(target), "sales_last_month": str(last),
              "visits": str(visits), "deals": str(deals), "orders": str(orders), "refunds": str(refunds),
              "inquiries": str(inquiries)}
    agents = [agent(fields, rules_, agent_id=f"KF{n:04d}") for n in range(team)]
    result = scoring.score_month(rules_, agents)[0]
    again = records.items(rules_, json.loads(records.dumps(result.items)))
    assert again == result.items
    assert explain.lines(EXPLAINERS, again) == explain.texts(EXPLAINERS, result)


def test_a_record_keeps_decimals_as_text_exactly():
    result = results_of(EXAMPLE_CSV, ruleset())[0]
    stored = records.plain(result.items)
    growth = next(record for record in stored if record["item"] == "sales_growth")
    assert isinstance(growth["measure"], str) and isinstance(growth["points"], str)
    assert all(value is None or isinstance(value, str) for _, value in growth["inputs"])
    assert set(growth) == {"item", "group", "weight", "inputs", "measure", "tier", "steps", "points", "notes"}


# ------------------------------------------------------------------ a new ledger
def test_the_ledger_stores_records_and_no_text(tmp_path):
    assert run("score", EXAMPLE_CSV, "--period", "2026-09", "--out", "out", "--jobs", "1").exit_code == 0
    with sqlite3.connect(os.environ["KPI_DB"]) as db:
        assert db.execute("SELECT COUNT(*) FROM explanations").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 25
        assert db.execute("SELECT COUNT(DISTINCT ruleset_sha256) FROM results WHERE ruleset_sha256 != ''"
                          ).fetchone()[0] == 1
        body = db.execute("SELECT r.items FROM records r JOIN results s ON s.records_sha256 = r.sha256 "
                          "WHERE s.agent_id = 'KF1001'").fetchone()[0]
    assert "→" not in body and "standard 30" not in body and "分" not in body      # records, not words
    assert json.loads(body)[0]["item"] == "sales_completion"
    english, chinese = show("KF1001", 1, "en"), show("KF1001", 1, "zh")
    assert "completion = Sales 145,029.62" in english
    assert "完成率" in chinese or "销售额" in chinese
    with ledger.Ledger() as book:
        stored = revisions.results_of(book, 1, "KF1001")["KF1001"]["result"]["explain"]
        assert set(stored) == {"zh", "en"} and stored["en"]["sales_completion"] in english
        assert "explain" not in revisions.results_of(book, 1, "KF1001", explain=False)["KF1001"]["result"]


def test_an_edited_record_breaks_the_chain():
    assert run("score", EXAMPLE_CSV, "--period", "2026-09", "--out", "out", "--jobs", "1").exit_code == 0
    with sqlite3.connect(os.environ["KPI_DB"]) as db:
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            db.execute(f"DROP TRIGGER {name}")
        db.execute("UPDATE records SET items = replace(items, '\"points\":\"30\"', '\"points\":\"35\"')")
        assert db.total_changes > 0
    result = run("verify")
    assert result.exit_code == 1 and "records" in result.output


# ------------------------------------------------------------------ a ledger made before
def test_an_old_ledger_migrates_and_shows_what_it_showed(tmp_path):
    path = old_ledger(tmp_path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 6
    for key, expected in SHOWN.items():
        revision, lang, agent_id = key.split("/")
        assert show(agent_id, int(revision), lang) == expected, key
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(ledger.MIGRATIONS)
    verified = run("verify", "--lang", "en")
    assert verified.exit_code == 0 and "intact" in verified.output


def test_new_revisions_on_an_old_ledger_render_the_words_stored_before(tmp_path):
    """Revision 3 (KF1003 back to the example's figure) stores records; its words equal the
    texts revision 1 stored for the same figures, in both languages; the carried agents keep
    their stored texts; the ledger verifies throughout."""
    old_ledger(tmp_path)
    rows = example_rows()
    back = changed_csv(tmp_path, next(r for r in rows if r[0] == "KF1003")[rows[0].index("咨询应答量")])
    assert run("score", back, "--period", "2026-09", "--out", "out", "--jobs", "1").exit_code == 0
    for lang in ("zh", "en"):
        then = SHOWN[f"1/{lang}/KF1003"].splitlines()
        now = show("KF1003", 3, lang).splitlines()
        assert now[1:] == then[1:]                       # every line but the revision header
        assert show("KF1001", 3, lang).splitlines()[1:] == SHOWN[f"2/{lang}/KF1001"].splitlines()[1:]
    with ledger.Ledger() as book:
        rows = book.rows("SELECT agent_id, explain_sha256, records_sha256 FROM results WHERE revision_id = 3")
    fresh = [r["agent_id"] for r in rows if r["records_sha256"]]
    assert fresh and "KF1003" in fresh
    assert all(r["explain_sha256"] for r in rows if not r["records_sha256"])     # carried: texts as stored
    assert run("verify").exit_code == 0


def test_a_scorecard_made_from_the_ledger_takes_its_items_from_the_records(tmp_path, monkeypatch):
    from kpi.ledger import explanations
    from kpi.pipeline import month
    assert run("score", EXAMPLE_CSV, "--period", "2026-09", "--out", "out", "--jobs", "1").exit_code == 0
    taken = []
    real = explanations.stored_items
    monkeypatch.setattr(explanations, "stored_items", lambda *args: taken.append(args[2]) or real(*args))
    with ledger.Ledger() as book:
        assert month.scorecard_file(book, ruleset(), "KF1003", "zh", tmp_path / "records.xlsx")
        assert real(book, 1, "KF1003", ruleset()) == results_of(EXAMPLE_CSV, ruleset())[2].items
        monkeypatch.setattr(explanations, "stored_items", lambda *args: None)    # a row stored before
        assert month.scorecard_file(book, ruleset(), "KF1003", "zh", tmp_path / "scored.xlsx")
    assert taken == ["KF1003"]
    assert (tmp_path / "records.xlsx").read_bytes() == (tmp_path / "scored.xlsx").read_bytes()


def test_a_month_read_for_the_whatif_renders_only_when_asked_and_as_results_of_does(tmp_path):
    """The what-if reads a whole month without its words and asks for those of the agents whose
    items moved: from the records (new rows) or the stored texts (old rows), as results_of gives."""
    from kpi.ledger import explanations
    from kpi.pipeline import scored
    old_ledger(tmp_path)
    assert run("score", changed_csv(tmp_path, "401"), "--period", "2026-09", "--out", "out",
               "--jobs", "1").exit_code == 0
    with ledger.Ledger() as book:
        month = scored.month(book, "2026-09")
        full = revisions.results_of(book, 3)
        explained = explanations.of_revision(book, 3)
    assert month.revision == 3 and all("explain" not in doc for doc in month.results.values())
    for agent_id in ("KF1003", "KF1001"):      # a new row (records) and a carried one (texts)
        assert explained(agent_id) == month.explained(agent_id) == full[agent_id]["result"]["explain"]
        assert set(explained(agent_id)) == {"zh", "en"}
    assert explained("nobody") == {}
