"""The ledger is tamper-evident: a hash chain over every recorded row, `kpi verify`, and the
check every writing command makes before it builds on a month (issue 20)."""

from __future__ import annotations

import os
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import helpers
from helpers import EXAMPLE_CSV
from kpi.core import chain
from kpi.ledger import db as ledger
from test_ledger import approve_levels   # issue 22: +2, -1 and dismissal close only once approved


def run(*args, **env):
    return helpers.run(*args, **{"KPI_LANG": "en", **env})


def ok(*args):
    return helpers.ok(*args, KPI_LANG="en")


def scored():
    ok("score", EXAMPLE_CSV, "--period", "2026-09", "--out", "out", "--jobs", "1")


def hand_edit(*statements):
    """Edits made with a plain SQLite client: kpi's hashing functions are unknown there, so the
    attacker drops the chain's triggers first."""
    with sqlite3.connect(os.environ["KPI_DB"]) as db:
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            db.execute(f"DROP TRIGGER {name}")
        for statement in statements:
            db.execute(statement)


def test_an_untouched_ledger_verifies_after_every_kind_of_change():
    scored()
    ok("confirm", "KF1001", "--period", "2026-09")
    ok("object", "KF1002", "--period", "2026-09", "--reason", "咨询量统计有误")
    ok("close", "2026-09", "--force", "--reason", "HR deadline")
    ok("reopen", "2026-09", "--reason", "wrong base pay")
    ok("score", EXAMPLE_CSV, "--period", "2026-09", "--out", "out", "--jobs", "1")
    result = ok("verify")
    assert "intact" in result.output
    with ledger.Ledger() as book:
        report = book.verify()
    assert report.first is None and report.links > 100


def test_a_plain_sqlite_client_cannot_edit_a_chained_table():
    scored()
    with sqlite3.connect(os.environ["KPI_DB"]) as db, pytest.raises(sqlite3.OperationalError, match="kpi_link"):
        db.execute("UPDATE results SET pay = '99999.00' WHERE agent_id = 'KF1003'")


def test_reopening_a_closed_month_by_hand_is_detected_and_refused():
    scored()
    approve_levels()
    ok("close", "2026-09")
    hand_edit("UPDATE months SET status = 'open' WHERE period = '2026-09'")
    result = run("verify")
    assert result.exit_code == 1
    assert 'table months, row ["2026-09"] no longer matches chain link' in result.output
    refused = run("confirm", "KF1001", "--period", "2026-09")
    assert refused.exit_code == 1 and 'table months, row ["2026-09"]' in refused.output
    assert "refusing to build on it" in refused.output


def test_an_edited_pay_is_detected_and_a_rescore_refuses_to_build_on_it():
    scored()
    hand_edit("UPDATE results SET pay = '99999.00' WHERE agent_id = 'KF1003'")
    result = run("verify")
    assert result.exit_code == 1
    assert 'table results, row [1,"KF1003"] no longer matches chain link' in result.output.splitlines()[0]
    refused = run("score", EXAMPLE_CSV, "--period", "2026-09", "--out", "out", "--jobs", "1")
    assert refused.exit_code == 1 and 'table results, row [1,"KF1003"]' in refused.output
    with sqlite3.connect(os.environ["KPI_DB"]) as db:
        assert db.execute("SELECT COUNT(*) FROM revisions").fetchone()[0] == 1


def test_a_deleted_audit_log_is_detected():
    scored()
    ok("confirm", "KF1001", "--period", "2026-09")
    hand_edit("DELETE FROM audit")
    result = run("verify")
    assert result.exit_code == 1
    first = result.output.splitlines()[0]
    assert "table audit, row [1] was deleted" in first
    assert run("object", "KF1002", "--period", "2026-09", "--reason", "x").exit_code == 1


def test_an_edited_client_address_in_the_audit_log_is_detected():
    """The web workspace records each action's client address: it is chained like the rest."""
    scored()
    assert run("verify").exit_code == 0
    hand_edit("UPDATE audit SET client = '10.0.0.9'")
    result = run("verify")
    assert result.exit_code == 1
    assert "table audit, row [1] no longer matches" in result.output.splitlines()[0]


def test_a_row_added_behind_kpis_back_is_detected():
    scored()
    hand_edit("INSERT INTO answers (period, agent_id, revision, answer, reason, via, recorded_at, recorded_by) "
              "VALUES ('2026-09', 'KF1004', 1, 'confirm', '', 'forged', 'now', 'mallory')")
    result = run("verify")
    assert result.exit_code == 1 and "table answers, row [1] is not on the hash chain" in result.output


def test_an_edited_or_deleted_link_is_named():
    scored()
    with sqlite3.connect(os.environ["KPI_DB"]) as db:
        db.execute("UPDATE chain SET digest = '00' WHERE id = 5")
    result = run("verify")
    assert result.exit_code == 1 and "chain link 5 was changed" in result.output
    with sqlite3.connect(os.environ["KPI_DB"]) as db:
        db.execute("UPDATE chain SET digest = (SELECT digest FROM chain WHERE id = 6) WHERE id = 5")
        db.execute("DELETE FROM chain WHERE id = 7")
    result = run("verify")
    assert result.exit_code == 1 and "chain link 5 was changed" in result.output


def test_dropped_triggers_are_reported_even_without_a_changed_row():
    scored()
    hand_edit()
    result = run("verify")
    assert result.exit_code == 1 and "trigger chain_answers_" in result.output


def test_a_damaged_file_fails_sqlites_integrity_check(tmp_path):
    scored()
    with sqlite3.connect(os.environ["KPI_DB"]) as db:
        page = db.execute("PRAGMA page_size").fetchone()[0]
        pages = db.execute("PRAGMA page_count").fetchone()[0]
    data = bytearray((tmp_path / "kpi.db").read_bytes())
    for offset in range(page * (pages // 2), page * (pages // 2) + 200):
        data[offset] = 0x55
    (tmp_path / "kpi.db").write_bytes(bytes(data))
    result = run("verify")
    assert result.exit_code == 1


def test_verify_of_a_missing_ledger_says_so(tmp_path):
    result = run("verify", "--db", tmp_path / "none.db")
    assert result.exit_code == 1 and "does not exist" in result.output
    assert not (tmp_path / "none.db").exists()


def test_a_ledger_of_schema_3_is_linked_at_migration_and_then_guarded(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        for statement in ledger.MIGRATIONS[0] + ledger.MIGRATIONS[1] + ledger.MIGRATIONS[2]:
            db.execute(statement)
        db.execute("INSERT INTO months (period) VALUES ('2026-08')")
        db.execute("INSERT INTO audit (at, who, action, period) VALUES ('then', 'hr', 'score', '2026-08')")
        db.execute("PRAGMA user_version = 3")
    with ledger.Ledger(path) as book:
        assert book.schema_version == len(ledger.MIGRATIONS)
        assert book.verify().first is None
        assert book.db.execute("SELECT COUNT(*) FROM chain").fetchone()[0] == 2
        assert len(book.secret) == 32
    os.environ["KPI_DB"] = str(path)
    hand_edit("UPDATE audit SET who = 'nobody'")
    assert "table audit, row [1] no longer matches chain link 2" in run("verify").output


def test_the_ledger_secret_is_made_once_and_differs_between_ledgers(tmp_path):
    with ledger.Ledger(tmp_path / "a.db") as a:
        first = a.secret
    with ledger.Ledger(tmp_path / "a.db") as a, ledger.Ledger(tmp_path / "b.db") as b:
        assert a.secret == first != b.secret


def test_a_table_added_to_the_registry_is_chained_with_its_existing_rows(tmp_path, monkeypatch):
    """What another issue does to chain its table: create it (a migration) and add one line."""
    path = tmp_path / "kpi.db"
    with ledger.Ledger(path) as book, book.write() as db:
        db.execute("CREATE TABLE objections (id INTEGER PRIMARY KEY, period TEXT, agent_id TEXT, decision TEXT)")
        db.execute("INSERT INTO objections (period, agent_id, decision) VALUES ('2026-09', 'KF1002', 'upheld')")
    monkeypatch.setattr(chain, "REGISTRY", chain.REGISTRY + (
        chain.Chained("objections", ("id",), ("id", "period", "agent_id", "decision")),))
    with ledger.Ledger(path) as book:
        with book.write() as db:
            db.execute("INSERT INTO objections (period, agent_id, decision) VALUES ('2026-09', 'KF1005', 'denied')")
            db.execute("INSERT OR REPLACE INTO objections (id, period, agent_id, decision) "
                       "VALUES (1, '2026-09', 'KF1002', 'denied')")
        assert book.verify().first is None
    hand_edit("UPDATE objections SET decision = 'upheld' WHERE id = 2")
    with ledger.Ledger(path) as book:
        first = book.verify().first
        assert (first.what, first.table, first.key) == ("changed", "objections", "[2]")
        with pytest.raises(ledger.LedgerError) as refused:
            book.require_intact("2026-09")
        assert refused.value.code == "tampered_changed"


def test_a_level_decided_twice_keeps_the_chain_whole():
    scored()
    with ledger.Ledger() as book:
        plus_or_not = book.rows("SELECT agent_id FROM results WHERE level_change = '+1|0'")
    if plus_or_not:
        agent = plus_or_not[0]["agent_id"]
        ok("level", agent, "--period", "2026-09", "+1")
        ok("level", agent, "--period", "2026-09", "0")
    approve_levels()
    ok("close", "2026-09")
    ok("verify")


def test_the_chain_table_record_cannot_be_deleted_to_relink_edited_rows():
    scored()
    hand_edit("UPDATE results SET pay = '1.00'", "DELETE FROM chain_tables WHERE tbl = 'results'")
    result = run("verify")
    assert result.exit_code == 1


# ------------------------------------------------------------------ the pure chain
@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["months", "audit"]), st.integers(0, 5), st.text(max_size=8)),
                     min_size=1, max_size=12),
       data=st.data())
def test_any_change_to_any_link_is_found_at_that_link(rows, data):
    links, previous = [], chain.GENESIS
    for number, (table, key, text) in enumerate(rows, start=1):
        row_digest = chain.digest(f'{{"v": {chain.canonical(text).decode()}}}')
        previous = chain.link(previous, table, "put", f"[{key}]", row_digest)
        links.append(chain.Link(number, table, "put", f"[{key}]", row_digest, previous))
    assert chain.first_broken(links) is None
    victim = data.draw(st.integers(0, len(links) - 1))
    field = data.draw(st.sampled_from(["table", "key", "digest", "op"]))
    changed = links[victim]._replace(**{field: getattr(links[victim], field) + "x"})
    assert chain.first_broken(links[:victim] + [changed] + links[victim + 1:]) == (victim + 1, "changed")
    expected = None if victim == len(links) - 1 else (victim + 1, "missing")
    assert chain.first_broken(links[:victim] + links[victim + 1:]) == expected


def test_the_digest_is_of_canonical_json():
    assert chain.digest('{"b": 1, "a": "é"}') == chain.digest('{"a":"é","b":1}')
    assert chain.digest(None) == ""


# ------------------------------------------------------------------ content-addressed tables
def test_a_plain_sqlite_client_cannot_change_or_delete_a_record():
    scored()
    with sqlite3.connect(os.environ["KPI_DB"]) as db:
        for statement in ("UPDATE records SET items = '[]'", "DELETE FROM rulesets"):
            with pytest.raises(sqlite3.IntegrityError, match="never"):
                db.execute(statement)


def test_a_dropped_guard_stops_the_next_command_on_any_month():
    scored()
    with sqlite3.connect(os.environ["KPI_DB"]) as db:
        db.execute("DROP TRIGGER guard_records_upd")
    refused = run("confirm", "KF1001", "--period", "2026-09")
    assert refused.exit_code == 1 and "records" in refused.output and "guard_records_upd" in refused.output


def test_a_deleted_record_is_found_by_the_result_that_names_it():
    scored()
    hand_edit_addressed = ["DROP TRIGGER guard_records_del"]
    with sqlite3.connect(os.environ["KPI_DB"]) as db:
        name = db.execute("SELECT records_sha256 FROM results WHERE agent_id = 'KF1003'").fetchone()[0]
        for statement in hand_edit_addressed:
            db.execute(statement)
        db.execute("DELETE FROM records WHERE sha256 = ?", (name,))
        db.execute("CREATE TRIGGER guard_records_del BEFORE DELETE ON records BEGIN SELECT RAISE(ABORT, 'x'); END")
    result = run("verify")
    assert result.exit_code == 1
    assert f'table records, row ["{name}"] was deleted (results.records_sha256 still names it)' in result.output
    refused = run("score", EXAMPLE_CSV, "--period", "2026-09", "--out", "out", "--jobs", "1")
    assert refused.exit_code == 1 and "records" in refused.output and "refusing to build on it" in refused.output


def test_a_record_whose_content_no_longer_gives_its_name_is_found():
    scored()
    with sqlite3.connect(os.environ["KPI_DB"]) as db:
        db.execute("DROP TRIGGER guard_rulesets_upd")
        db.execute("UPDATE rulesets SET ruleset = replace(ruleset, '\"total\":\"100\"', '\"total\":\"101\"')")
        assert db.total_changes == 1
        db.execute("CREATE TRIGGER guard_rulesets_upd BEFORE UPDATE ON rulesets BEGIN SELECT RAISE(ABORT, 'x'); END")
    result = run("verify")
    assert result.exit_code == 1 and "table rulesets" in result.output and "sha256" in result.output


def _chained_row_by_row(monkeypatch):
    """The registry and migrations of the build before records and rulesets were content-addressed."""
    monkeypatch.setattr(ledger, "MIGRATIONS", ledger.MIGRATIONS[:-1])
    monkeypatch.setattr(chain, "ADDRESSED", ())
    monkeypatch.setattr(chain, "REGISTRY", chain.REGISTRY + (
        chain.Chained("records", ("sha256",), ("sha256", "items"), ""),
        chain.Chained("rulesets", ("sha256",), ("sha256", "ruleset"), "")))


def _triggers_on(table: str) -> list[str]:
    with sqlite3.connect(os.environ["KPI_DB"]) as db:
        return [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
                                               (table,))]


def test_a_ledger_that_linked_each_record_drops_those_links_triggers_once_checked(monkeypatch):
    with monkeypatch.context() as old:
        _chained_row_by_row(old)
        scored()
        assert len(_triggers_on("records")) == 3
    assert "intact" in ok("verify").output
    assert sorted(_triggers_on("records")) == ["guard_records_del", "guard_records_upd"]
    assert sorted(_triggers_on("rulesets")) == ["guard_rulesets_del", "guard_rulesets_upd"]
    assert len(_triggers_on("results")) == 3
    with sqlite3.connect(os.environ["KPI_DB"]) as db:
        assert db.execute("SELECT COUNT(*) FROM chain_tables WHERE tbl IN ('records', 'rulesets')").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM chain WHERE tbl = 'records'").fetchone()[0] == 25  # the links stay
    scored()
    assert "intact" in ok("verify").output


def test_a_record_edited_while_it_was_linked_is_refused_before_its_links_triggers_go(monkeypatch):
    with monkeypatch.context() as old:
        _chained_row_by_row(old)
        scored()
    hand_edit("UPDATE records SET items = replace(items, '\"points\":\"30\"', '\"points\":\"35\"')")
    result = run("verify")
    assert result.exit_code == 1 and "table records" in result.output

