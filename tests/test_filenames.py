"""Scorecard file names: one file per agent, unique and valid on Windows, macOS and Linux."""

from __future__ import annotations

import sqlite3
import unicodedata

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import cli
from helpers import example_rows, write_xlsx
from kpi.core import filenames
from kpi.io import readers

HOSTILE = st.sampled_from(list('/\\:*?"<>|.~- \x00\x1f\x7f\u200b\u202e') + ["..", "CON", "nul", "COM1", "lpt9.txt",
                                                                           "ＫＦ", "İ", "ß", "SS", "名"])
TEXT = st.lists(st.one_of(HOSTILE, st.text(min_size=1, max_size=3)), min_size=1, max_size=12).map("".join)


def _valid_everywhere(component: str) -> bool:
    name = component.split(".", 1)[0].rstrip(" ").upper()
    return (filenames.valid(component) and len(component.encode("utf-8")) <= 255
            and name not in {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)),
                             *(f"LPT{n}" for n in range(1, 10))})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(TEXT, TEXT, st.one_of(TEXT, st.sampled_from(["售前一组", "..", "/etc", "Team", "team"]))),
                min_size=1, max_size=12, unique_by=lambda agent: agent[0]))
def test_any_distinct_ids_get_distinct_valid_paths_inside_the_folder(agents):
    paths = filenames.card_paths(agents)
    assert set(paths) == {agent_id for agent_id, _, _ in agents}
    folded = {unicodedata.normalize("NFKC", str(path)).casefold() for path in paths.values()}
    assert len(folded) == len(agents)                          # distinct on a case-insensitive system
    for path in paths.values():
        assert not path.is_absolute() and len(path.parts) == 3 and path.parts[0] == "scorecards"
        assert all(_valid_everywhere(part) for part in path.parts[1:]), path
        assert path.suffix == ".xlsx"
        assert len(str(path).encode("utf-8")) <= 11 + filenames.FOLDER_BYTES + 1 + filenames.FILE_BYTES + 64


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(TEXT, TEXT, TEXT), min_size=1, max_size=6, unique_by=lambda agent: agent[0]))
def test_an_agent_keeps_the_same_path_whatever_order_the_month_lists_them_in(agents):
    assert filenames.card_paths(agents) == filenames.card_paths(list(reversed(agents)))


def test_ids_alike_once_cleaned_never_share_a_file():
    paths = filenames.card_paths([("KF/2001", "张三", "售前一组"), ("KF_2001", "张三", "售前一组")])
    assert str(paths["KF_2001"]) == "scorecards/售前一组/KF_2001-张三.xlsx"
    assert str(paths["KF/2001"]) == f"scorecards/售前一组/KF_2001~{filenames.digest('KF/2001')}-张三.xlsx"


def test_ids_differing_by_case_in_one_folder_both_carry_their_hash():
    paths = filenames.card_paths([("kf1", "a", "T"), ("KF1", "a", "T")])
    assert str(paths["kf1"]) == f"scorecards/T/kf1~{filenames.digest('kf1')}-a.xlsx"
    assert str(paths["KF1"]) == f"scorecards/T/KF1~{filenames.digest('KF1')}-a.xlsx"


def test_an_id_and_name_that_spell_the_same_file_are_told_apart():
    paths = filenames.card_paths([("KF-1", "a-b", "T"), ("KF", "1-a-b", "T")])
    assert str(paths["KF-1"]) == f"scorecards/T/KF-1~{filenames.digest('KF-1')}-a-b.xlsx"
    assert str(paths["KF"]) == f"scorecards/T/KF~{filenames.digest('KF')}-1-a-b.xlsx"


def test_reserved_names_trailing_dots_and_escapes_stay_inside_their_folder():
    paths = filenames.card_paths([("CON", "x", ".."), ("A1", "y.", "/etc"), ("LPT1.txt", "z ", "AUX")])
    assert str(paths["CON"]) == f"scorecards/_~{filenames.digest('..')}/_CON~{filenames.digest('CON')}-x.xlsx"
    assert str(paths["A1"]) == f"scorecards/_etc~{filenames.digest('/etc')}/A1-y.xlsx"
    assert str(paths["LPT1.txt"]) == (f"scorecards/_AUX~{filenames.digest('AUX')}/"
                                      f"_LPT1.txt~{filenames.digest('LPT1.txt')}-z.xlsx")


def test_a_long_name_is_cut_and_the_id_kept_whole():
    path = filenames.card_path("KF1001", "王" * 200, "售前一组")
    assert path.name.startswith("KF1001-王") and path.name.endswith("王.xlsx")
    assert len(path.name.encode("utf-8")) <= filenames.FILE_BYTES
    long_team = filenames.card_path("KF1001", "王芳", "组" * 100).parts[1]
    assert long_team.startswith("组") and len(long_team.encode("utf-8")) <= filenames.FOLDER_BYTES


def test_a_month_scored_writes_each_agent_their_own_card_and_the_ledger_points_at_it(tmp_path):
    header, *rows = example_rows()
    rows[0][0], rows[1][0] = "KF/2001", "KF_2001"     # same team, same look once cleaned
    rows[1][1] = rows[0][1]                           # and the same name
    rows[2][2] = "../../escape"
    source = write_xlsx(tmp_path / "in.xlsx", [header, *rows])
    out, db = tmp_path / "out", tmp_path / "kpi.db"
    result = CliRunner().invoke(cli.main, ["score", str(source), "--period", "2026-09", "--out", str(out),
                                           "--db", str(db)], env={"KPI_LANG": None})
    assert result.exit_code == 0, result.output
    cards = sorted((out / "scorecards").rglob("*.xlsx"))
    assert len(cards) == 25 and all(out / "scorecards" in card.parents for card in cards)
    assert not (tmp_path / "escape").exists()
    with sqlite3.connect(db) as book:
        pointed = dict(book.execute("SELECT agent_id, card_path FROM results"))
    assert len(set(pointed.values())) == 25
    for agent_id in ("KF/2001", "KF_2001", rows[2][0]):
        assert readers.read_scorecard(out / pointed[agent_id]).agent_id == agent_id
    assert pointed["KF_2001"] == f"scorecards/{rows[1][2]}/KF_2001-{rows[0][1]}.xlsx"
