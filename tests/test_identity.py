"""One agent, one identity: ids, teams and levels compared after NFKC folding and trimming."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import cli
from helpers import example_rows, ruleset, write_csv, write_xlsx
from kpi.core import identity
from kpi.pipeline import month
from kpi.core.errors import InputError


def run(*args):
    return CliRunner().invoke(cli.main, [str(a) for a in args], env={"KPI_LANG": None})


def _sheet(tmp_path, edit, name="in.xlsx"):
    """The example month as a workbook typed by a supervisor, after ``edit(rows)``."""
    header, *rows = example_rows()
    edit(rows)
    return write_xlsx(tmp_path / name, [header, *rows])


def _problems(path):
    with pytest.raises(InputError) as caught:
        month.validate(path, ruleset())
    return [(p.location, p.code, p.value, dict(p.params)) for p in caught.value.problems]


def test_a_full_width_id_is_the_same_agent_as_its_half_width_twin(tmp_path):
    def edit(rows):
        rows[0][0], rows[5][0] = "KF1003", "ＫＦ１００３"    # rows[2] is KF1003 already
        rows[0][0] = "KF1001"
    path = _sheet(tmp_path, edit)
    assert _problems(path) == [("填报表!A7", "duplicate_id_case", "ＫＦ１００３",
                                {"other": "填报表!A4", "other_id": "KF1003"})]
    result = run("check", path, "--period", "2026-09")
    assert result.exit_code == 1
    assert ("填报表!A7  工号 KF1003 · 工号:填写为“ＫＦ１００３” → "
            "工号与 填报表!A4 的 KF1003 只有大小写或全角半角不同,视为同一人重复填写") in result.output


def test_an_id_differing_only_by_case_is_refused_as_a_probable_duplicate(tmp_path):
    path = _sheet(tmp_path, lambda rows: rows[5].__setitem__(0, "kf1003"))
    assert _problems(path) == [("填报表!A7", "duplicate_id_case", "kf1003",
                                {"other": "填报表!A4", "other_id": "KF1003"})]
    result = run("check", path, "--period", "2026-09")
    assert "工号与 填报表!A4 的 KF1003 只有大小写或全角半角不同,视为同一人重复填写" in result.output


def test_a_zero_width_space_from_a_chat_window_is_no_new_agent(tmp_path):
    path = _sheet(tmp_path, lambda rows: rows[5].__setitem__(0, "KF1003\u200b"))
    assert _problems(path) == [("填报表!A7", "duplicate_id_case", "KF1003\u200b",
                                {"other": "填报表!A4", "other_id": "KF1003"})]


def test_full_width_team_names_and_levels_are_the_same_team_and_level(tmp_path):
    def edit(rows):
        for row in rows:
            if row[2] == "售前一组":
                row[2] = "售前1组"
            if row[3] == "P1":
                row[3] = "Ｐ１"
        rows[0][2] = "售前１组 "      # full-width digit and a trailing space, as typed on a phone
    parsed = month.validate(_sheet(tmp_path, edit), ruleset())
    teams = {agent.team for agent in parsed.agents}
    assert teams == {"售前1组", "售前二组"}
    assert {agent.level for agent in parsed.agents} <= {"P1", "P2", "P3", "P4", "P5", "P6"}
    assert sum(agent.team == "售前1组" for agent in parsed.agents) == 13


def test_a_csv_keeps_the_id_as_folded_and_the_case_as_typed(tmp_path):
    header, *rows = example_rows()
    rows[0][0] = "ｋｆ１００１"
    parsed = month.validate(write_csv(tmp_path / "in.csv", [header, *rows]), ruleset())
    assert parsed.agents[0].agent_id == "kf1001"


def test_a_command_finds_an_agent_typed_in_full_width(tmp_path):
    source = _sheet(tmp_path, lambda rows: None)
    assert run("score", source, "--period", "2026-09", "--out", tmp_path / "o").exit_code == 0
    result = run("confirm", "ＫＦ１００１", "--period", "2026-09")
    assert result.exit_code == 0, result.output
    assert "KF1001" in result.output


@given(st.text(max_size=12))
def test_folding_is_idempotent(text):
    assert identity.fold(identity.fold(text)) == identity.fold(text)
    assert identity.key(identity.fold(text)) == identity.key(text)


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12))
def test_ids_in_full_width_or_another_case_have_the_same_key(text):
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in text)      # Ａ is A + 0xFEE0
    assert identity.fold(f" {full_width}\u200b ") == text
    assert identity.key(full_width) == identity.key(text.upper()) == identity.key(text.lower())


def test_last_months_sales_are_found_for_an_id_recorded_in_full_width_before(tmp_path):
    """A month recorded before ids were folded kept ＫＦ１００１ as typed; September's KF1001 is that agent."""
    import sqlite3
    august = _sheet(tmp_path, lambda rows: None, "august.xlsx")
    assert run("score", august, "--period", "2026-08", "--out", tmp_path / "o8").exit_code == 0
    with sqlite3.connect(tmp_path / "kpi.db") as db:       # as an older kpi would have stored it
        from kpi.ledger import integrity
        integrity.register(db)                             # an edit as kpi makes them: chained
        db.execute("UPDATE results SET agent_id = 'ＫＦ１００１' WHERE agent_id = 'KF1001'")

    def no_base(rows):
        rows[0][6] = ""                                    # 上月销售额 of KF1001 left empty
    september = month.validate(_sheet(tmp_path, no_base, "september.xlsx"), ruleset())
    from kpi.ledger import carryover, db as ledger
    with ledger.Ledger(tmp_path / "kpi.db") as book:
        filled = carryover.fill_from_ledger(book, "2026-09", september.agents, "sales_last_month", "sales_actual")
    assert str(filled[0].values["sales_last_month"]) == example_rows()[1][5]
    assert filled[0].filled == {"sales_last_month": "2026-08#1"}
