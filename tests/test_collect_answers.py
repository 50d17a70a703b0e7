"""Issue 22: collecting returned scorecards counts and names everything; read-only commands create nothing."""

from __future__ import annotations

import io
import shutil

import msoffcrypto
import msoffcrypto.format.ooxml
import openpyxl
import pytest

from helpers import run, score
from helpers import EXAMPLE_CSV, example_rows, write_csv, write_xlsx



def fill(card, answer, reason="", target=None, password=None):
    """The card with its answer block filled as the agent would, saved to ``target``."""
    if password:
        plain = io.BytesIO()
        with open(card, "rb") as handle:
            office = msoffcrypto.OfficeFile(handle)
            office.load_key(password=password)
            office.decrypt(plain)
        plain.seek(0)
        book = openpyxl.load_workbook(plain)
    else:
        book = openpyxl.load_workbook(card)
    for name, value in (("kpi_answer", answer), ("kpi_reason", reason)):
        sheet, ref = next(iter(book.defined_names[name].destinations))
        book[sheet][ref.replace("$", "")].value = value
    target.parent.mkdir(parents=True, exist_ok=True)
    book.save(target)
    if password:
        plain = io.BytesIO(target.read_bytes())
        with open(target, "wb") as handle:
            msoffcrypto.format.ooxml.OOXMLFile(plain).encrypt(password, handle)
    return target


def card_of(tmp_path, agent, out="out"):
    return next((tmp_path / out / "scorecards").rglob(f"{agent}-*.xlsx"))


@pytest.mark.parametrize("written, recorded", [
    ("确认无误", "确认"), ("确认。", "确认"), ("无异议", "确认"), ("✓确认", "确认"), ("有异议", "异议(咨询量漏算)"),
    ("异议!", "异议(咨询量漏算)")])
def test_the_answer_cell_accepts_the_obvious_variants(tmp_path, written, recorded):
    score()
    fill(card_of(tmp_path, "KF1002"), written, "咨询量漏算", tmp_path / "back" / "KF1002-李娜.xlsx")
    result = run("collect", tmp_path / "back", "--period", "2026-09")
    assert result.exit_code == 0, result.output
    assert f"已记录 KF1002-李娜.xlsx:工号 KF1002 {recorded}" in result.output.splitlines()


def test_an_answer_that_says_neither_is_refused_and_counted(tmp_path):
    score()
    fill(card_of(tmp_path, "KF1002"), "再看看", "", tmp_path / "back" / "KF1002-李娜.xlsx")
    result = run("collect", tmp_path / "back", "--period", "2026-09")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == "共记录 0 份,跳过 0 份,拒收 1 份"


def test_the_answer_cell_is_a_dropdown(tmp_path):
    score()
    book = openpyxl.load_workbook(card_of(tmp_path, "KF1001"))
    sheet_name, ref = next(iter(book.defined_names["kpi_answer"].destinations))
    sheet = book[sheet_name]
    cell = ref.replace("$", "")
    lists = [v for v in sheet.data_validations.dataValidation if v.type == "list" and cell in str(v.sqref)]
    assert lists and lists[0].formula1 == '"确认,异议"'


def test_collect_names_ignored_files_and_counts_the_refused(tmp_path):
    score()
    back = tmp_path / "back"
    fill(card_of(tmp_path, "KF1001"), "确认", "", back / "KF1001-王芳.xlsx")
    (back / "说明.txt").write_text("请于 10 月 15 日前交回", encoding="utf-8")
    write_xlsx(back / "统计.xlsx", example_rows())                               # an xlsx that is no scorecard
    (back / "坏文件.xlsx").write_bytes(b"PK\x03\x04 not really a zip")          # damaged: refused
    (back / "~$KF1001-王芳.xlsx").write_bytes(b"lock")                          # Excel's lock file: skipped
    (back / "KF1002-李娜.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")      # saved back as Excel 97-2003
    (back / "KF1003-张伟.et").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")       # saved back in WPS' own format
    result = run("collect", back, "--period", "2026-09")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "忽略 说明.txt:不是 .xlsx 文件" in lines
    assert "忽略 KF1002-李娜.xls:这是旧版 .xls 文件,请在 Excel 中另存为 .xlsx" in lines   # said why, not dropped
    assert "忽略 KF1003-张伟.et:这是 WPS 表格的 .et 文件,请在 WPS 中另存为“Excel 文件(*.xlsx)”" in lines
    assert "忽略 统计.xlsx:不是 kpi 生成的考核表" in lines
    assert any("坏文件.xlsx" in line for line in lines)
    assert not any("~$" in line for line in lines)
    assert lines[-1] == "共记录 1 份,跳过 0 份,拒收 1 份,忽略 4 个文件"
    alone = run("collect", back / "KF1002-李娜.xls", "--period", "2026-09")   # named: refused, with the same words
    assert alone.exit_code == 1 and "这是旧版 .xls 文件,请在 Excel 中另存为 .xlsx" in alone.output
    wps = run("collect", back / "KF1003-张伟.et", "--period", "2026-09")
    assert wps.exit_code == 1 and "这是 WPS 表格的 .et 文件" in wps.output


def test_encrypted_returned_cards_open_with_the_password_file(tmp_path):
    passwords = write_csv(tmp_path / "pw.csv", [["工号", "密码"]] + [[r[0], f"pw-{r[0]}"] for r in example_rows()[1:]])
    score(EXAMPLE_CSV, "--encrypt", "--passwords", passwords)
    back = tmp_path / "back"
    fill(card_of(tmp_path, "KF1003"), "确认", "", back / "KF1003-张伟.xlsx", password="pw-KF1003")
    without = run("collect", back, "--period", "2026-09")
    assert without.exit_code == 1 and "考核表已加密,请用 --passwords 给出人事部的密码文件" in without.output
    assert without.output.splitlines()[-1] == "共记录 0 份,跳过 0 份,拒收 1 份"
    with_file = run("collect", back, "--period", "2026-09", "--passwords", passwords)
    assert with_file.exit_code == 0, with_file.output
    assert "已记录 KF1003-张伟.xlsx:工号 KF1003 确认" in with_file.output.splitlines()
    wrong = write_csv(tmp_path / "wrong.csv", [["工号", "密码"], ["KF1003", "nope"]])
    refused = run("collect", back, "--period", "2026-09", "--passwords", wrong)
    assert refused.exit_code == 1 and "密码文件中该工号的密码打不开它" in refused.output


@pytest.mark.parametrize("command", [["history"], ["history", "KF1001"], ["status", "2026-09"],
                                     ["show", "KF1001", "--period", "2026-09"]])
def test_read_only_commands_never_create_a_ledger(tmp_path, monkeypatch, command):
    monkeypatch.delenv("KPI_DB")
    result = run(*command, KPI_DB=None)
    assert result.exit_code == 1
    assert result.output.startswith("找不到台账 kpi.db。")
    assert not (tmp_path / "kpi.db").exists()
    elsewhere = run(*command, "--db", tmp_path / "sub" / "book.db")
    assert elsewhere.exit_code == 1 and str(tmp_path / "sub" / "book.db") in elsewhere.output
    assert not (tmp_path / "sub").exists()
    shutil.rmtree(tmp_path / "sub", ignore_errors=True)
