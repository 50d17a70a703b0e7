"""A returned scorecard cannot carry edited scores: collect decides from the card's seal and the
ledger, names the edited cell, and reads only what it needs of the file (issue 20)."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import zipfile

import openpyxl
import orjson
import pytest
from click.testing import CliRunner

import cli
from helpers import EXAMPLE_CSV, ROOT
from kpi.io import readers
from kpi.core import seal

CARD_ROWS = {"band": "B25", "multiplier": "B26", "pay": "B29", "recommendation": "B30", "total": "F23",
             "lost": "G17", "inputs": "B8", "title": "A1"}


def run(*args, **env):
    return CliRunner().invoke(cli.main, [str(a) for a in args], env={"KPI_LANG": "zh", "KPI_CONFIG": None, **env})


@pytest.fixture
def card(tmp_path):
    result = run("score", EXAMPLE_CSV, "--period", "2026-09", "--out", "out", "--jobs", "1")
    assert result.exit_code == 0, result.output
    return next((tmp_path / "out" / "scorecards").rglob("KF1001-*.xlsx"))


def answered(source, target, answer="确认", reason="", cells=(), names=None):
    """The card as an agent's Excel saves it after filling the answer and making ``cells`` edits."""
    book = openpyxl.load_workbook(source)
    sheet = book["考核表"]
    sheet["B33"], sheet["B34"] = answer, reason
    for ref, value in cells:
        sheet[ref] = value
    for name, value in (names or {}).items():
        if value is None:
            del book.defined_names[name]
        else:
            book.defined_names[name].attr_text = value
    target.parent.mkdir(parents=True, exist_ok=True)
    book.save(target)
    return target


def collect(*paths, period="2026-09"):
    return run("collect", *paths, "--period", period)


def test_a_genuine_card_is_recorded(card, tmp_path):
    result = collect(answered(card, tmp_path / "back" / card.name))
    assert result.exit_code == 0, result.output
    assert "已记录 KF1001-王芳.xlsx:工号 KF1001 确认" in result.output


@pytest.mark.parametrize(("ref", "value", "message"), [
    ("F23", "=120", "工号 KF1001:考核表!F23 的评分被改动(原为 107,现为 =120),拒收"),
    ("B29", "=120", "工号 KF1001:考核表!B29 的评分被改动(原为 4240.00,现为 =120)"),
    ("F23", 120, "考核表!F23 的评分被改动(原为 107,现为 120)"),
    ("B25", "100(含)分以上 ", "考核表!B25 已不是 kpi 写入的内容"),
    ("B30", "建议升3级", "考核表!B30 已不是 kpi 写入的内容(现为“建议升3级”)"),
    ("G17", 0, "考核表!G17 已不是 kpi 写入的内容(现为“0”)"),
    ("B8", "实际销售额 999,999.00, 销售目标 117,000.00", "考核表!B8 已不是 kpi 写入的内容"),
    ("A1", "客服人员绩效考核表 2026-10", "考核表!A1 已不是 kpi 写入的内容(现为“客服人员绩效考核表 2026-10”)"),
    ("G23", 120, "考核表!G23 已不是 kpi 写入的内容(现为“120”)"),
    ("E3", None, "考核表!E3 已不是 kpi 写入的内容(现为“”)"),
])
def test_an_edited_cell_is_refused_by_name(card, tmp_path, ref, value, message):
    result = collect(answered(card, tmp_path / "back" / card.name, cells=[(ref, value)]))
    assert result.exit_code == 1
    refused = [line for line in result.output.splitlines() if line.startswith("拒收 KF1001-王芳.xlsx")]
    assert refused and message in refused[0], result.output
    assert "共记录 0 份" in result.output


def test_the_pay_message_shows_the_ledgers_figure(card, tmp_path):
    result = collect(answered(card, tmp_path / "back" / card.name, cells=[("B29", "=120")]))
    assert "考核表!B29 的评分被改动" in result.output and "现为 =120" in result.output


@pytest.mark.parametrize(("names", "message"), [
    ({"kpi_total": None}, "定义名称 kpi_total 被删除或改指他处(应指向 考核表!F23,现为“”)"),
    ({"kpi_total": "'考核表'!$G$23"}, "定义名称 kpi_total 被删除或改指他处(应指向 考核表!F23,现为“'考核表'!$G$23”)"),
    ({"kpi_points_conversion": "'考核表'!$F$8"}, "定义名称 kpi_points_conversion 被删除或改指他处"),
    ({"kpi_period": '"2026-08"'}, "定义名称 kpi_period 被删除或改指他处"),
])
def test_deleted_or_repointed_names_are_refused(card, tmp_path, names, message):
    result = collect(answered(card, tmp_path / "back" / card.name, names=names))
    assert result.exit_code == 1 and message in result.output, result.output


def _relabel(path, **claim):
    """The card with its seal cell's claim changed (period, agent, revision): unzip, edit, zip."""
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    part = next(name for name, data in parts.items() if b"kpi_seal" in data)
    strings = parts[part].decode().replace("&quot;", '"')
    start = strings.index('{"kpi_seal"')
    end = strings.index("}", start) + 1
    document = orjson.loads(strings[start:end])
    document.update(claim)
    parts[part] = (strings[:start] + orjson.dumps(document).decode() + strings[end:]).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def test_a_relabelled_period_revision_or_agent_breaks_the_seal(card, tmp_path):
    october = run("score", EXAMPLE_CSV, "--period", "2026-10", "--out", "oct", "--jobs", "1")
    assert october.exit_code == 0, october.output
    relabelled = _relabel(answered(card, tmp_path / "a" / card.name), period="2026-10")
    result = collect(relabelled, period="2026-10")
    assert result.exit_code == 1
    assert "工号 KF1001:考核表的封签(考核表!H1)与台账第 1 版不符" in result.output
    other = _relabel(answered(card, tmp_path / "b" / card.name), agent="KF1002")
    assert "工号 KF1002:考核表的封签(考核表!H1)与台账第 1 版不符" in collect(other).output
    later = _relabel(answered(card, tmp_path / "c" / card.name), revision=7)
    assert "与台账第 7 版不符" in collect(later).output


def test_a_card_of_another_ledger_is_refused(card, tmp_path):
    back = answered(card, tmp_path / "back" / card.name)
    assert run("score", EXAMPLE_CSV, "--period", "2026-09", "--out", "other", "--db", tmp_path / "o.db").exit_code == 0
    result = run("collect", back, "--period", "2026-09", "--db", tmp_path / "o.db")
    assert result.exit_code == 1 and "封签" in result.output


def test_a_card_without_a_seal_is_not_taken_for_one(card, tmp_path):
    book = openpyxl.load_workbook(card)
    book["考核表"]["H1"] = None
    book.save(tmp_path / "unsealed.xlsx")
    result = collect(tmp_path / "unsealed.xlsx")
    assert result.exit_code == 1 and "不是 kpi 生成的考核表" in result.output


def test_the_seal_is_the_ledgers_hmac_and_cards_stay_byte_reproducible(tmp_path):
    from kpi.ledger import db as ledger, revisions
    shutil.copy(ROOT / "examples" / "2026-09" / "input-2026-09.csv", tmp_path / "in.csv")
    ledger.Ledger(tmp_path / "kpi.db").close()                      # a new ledger: its secret made
    shutil.copy(tmp_path / "kpi.db", tmp_path / "copy.db")           # the same ledger, twice
    assert run("score", "in.csv", "--period", "2026-09", "--out", "a", "--jobs", "1").exit_code == 0
    assert run("score", "in.csv", "--period", "2026-09", "--out", "b", "--jobs", "1", "--db", "copy.db").exit_code == 0
    for path in (tmp_path / "a" / "scorecards").rglob("*.xlsx"):
        twin = tmp_path / "b" / path.relative_to(tmp_path / "a")
        assert twin.read_bytes() == path.read_bytes()
    found = readers.read_scorecard(next((tmp_path / "a" / "scorecards").rglob("KF1001-*.xlsx")))
    with ledger.Ledger(tmp_path / "kpi.db") as book:
        stored = revisions.results_of(book, 1, "KF1001")["KF1001"]
        assert found.claim.seal == seal.card_seal(book.secret, "KF1001", "2026-09", 1, stored["fingerprint"])
        secret = book.secret
    assert secret.hex() not in (tmp_path / "a" / "results.json").read_text(encoding="utf-8")


def test_tags_change_with_every_input_of_the_mac():
    secret, other = b"k" * 32, b"j" * 32
    tag = seal.cell_tag(secret, "s", "F23", "total", "n", 104)
    assert tag == seal.cell_tag(secret, "s", "F23", "total", "n", "104")       # 104 and "104" read alike
    variants = [seal.cell_tag(other, "s", "F23", "total", "n", 104), seal.cell_tag(secret, "t", "F23", "total", "n", 104),
                seal.cell_tag(secret, "s", "F24", "total", "n", 104), seal.cell_tag(secret, "s", "F23", "", "n", 104),
                seal.cell_tag(secret, "s", "F23", "total", "s", 104), seal.cell_tag(secret, "s", "F23", "total", "n", 105)]
    assert tag not in variants and len(set(variants)) == len(variants)


# ------------------------------------------------------------------ bounded reading
def _bloated(card, target, sheets=12, rows=100_000):
    """The card with ``sheets`` extra sheets of ``rows`` rows of 12 cells each: a few MB packed,
    hundreds of MB of XML, many GB for a reader that loads every cell."""
    with zipfile.ZipFile(card) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    row = "<row>" + "<c><v>1</v></c>" * 12 + "</row>"   # cells without references are valid: they follow
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             'spreadsheetml/2006/main"><sheetData>' + row * rows + "</sheetData></worksheet>").encode()
    book, rels = parts["xl/workbook.xml"].decode(), parts["xl/_rels/workbook.xml.rels"].decode()
    types = parts["[Content_Types].xml"].decode()
    for index in range(sheets):
        name = f"xl/worksheets/extra{index}.xml"
        parts[name] = sheet
        book = book.replace("</sheets>", f'<sheet name="x{index}" sheetId="{100 + index}" r:id="rX{index}"/></sheets>')
        rels = rels.replace("</Relationships>", f'<Relationship Id="rX{index}" Type="http://schemas.openxmlformats.org/'
                            f'officeDocument/2006/relationships/worksheet" Target="worksheets/extra{index}.xml"/>'
                            "</Relationships>")
        types = types.replace("</Types>", f'<Override PartName="/{name}" ContentType="application/vnd.openxmlformats-'
                              'officedocument.spreadsheetml.worksheet+xml"/></Types>')
    parts["xl/workbook.xml"], parts["xl/_rels/workbook.xml.rels"] = book.encode(), rels.encode()
    parts["[Content_Types].xml"] = types.encode()
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return target


def test_a_card_with_a_dozen_huge_sheets_is_read_in_little_memory(card, tmp_path):
    back = answered(card, tmp_path / "back" / card.name)
    big = _bloated(back, tmp_path / "big" / card.name)
    assert big.stat().st_size < 8 << 20
    # VmHWM is this process's own peak (ru_maxrss keeps the forking parent's peak across exec on Linux,
    # so under a long test run it measured pytest, not the reader)
    script = ("import resource, sys; sys.path.insert(0, sys.argv[1]); from kpi.io import readers; "
              "card = readers.read_scorecard(sys.argv[2]); print(card.slot('answer')[1]); "
              "hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')]; "
              "print(hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", script, str(ROOT), str(big)], capture_output=True, text=True,
                          timeout=120)
    answer, peak_kb = done.stdout.split()
    assert answer == "确认" and int(peak_kb) < 200_000, done.stdout
    result = collect(big)
    assert result.exit_code == 0 and "已记录" in result.output


def test_a_card_sheet_beyond_a_cards_size_is_refused_unread(card, tmp_path):
    with zipfile.ZipFile(card) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    filler = "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(40, 400_000))
    parts["xl/worksheets/sheet1.xml"] = sheet.replace("</sheetData>", filler + "</sheetData>").encode()
    target = tmp_path / "huge.xlsx"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    result = collect(target)
    assert result.exit_code == 1 and "考核表过大或结构异常" in result.output


def test_too_many_cells_in_the_card_sheet_are_refused(card, tmp_path):
    book = openpyxl.load_workbook(card)
    sheet = book["考核表"]
    for row in range(40, 300):
        for col in range(1, 10):
            sheet.cell(row, col, 1)
    book.save(tmp_path / "many.xlsx")
    result = collect(tmp_path / "many.xlsx")
    assert result.exit_code == 1 and "考核表过大或结构异常" in result.output


# ------------------------------------------------------------------ macros and external links
def _with_part(source, target, name, data=b"x", content_type=None):
    with zipfile.ZipFile(source) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    parts[name] = data
    if content_type:
        parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
            b"</Types>", f'<Override PartName="/{name}" ContentType="{content_type}"/></Types>'.encode())
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, data in parts.items():
            archive.writestr(part, data)
    return target


@pytest.mark.parametrize(("name", "content_type", "message"), [
    ("xl/vbaProject.bin", "application/vnd.ms-office.vbaProject", "工作簿含宏"),
    ("xl/externalLinks/externalLink1.xml",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml", "外部链接"),
])
def test_cards_and_input_sheets_with_macros_or_external_links_are_refused(card, tmp_path, name, content_type, message):
    bad_card = _with_part(answered(card, tmp_path / "back" / card.name), tmp_path / "bad-card.xlsx", name,
                          content_type=content_type)
    result = collect(bad_card)
    assert result.exit_code == 1 and message in result.output
    from helpers import EXAMPLE_XLSX
    bad_input = _with_part(EXAMPLE_XLSX, tmp_path / "bad-input.xlsx", name, content_type=content_type)
    checked = run("check", bad_input, "--period", "2026-09")
    assert checked.exit_code == 1 and message in checked.output


def test_an_xlsm_renamed_xlsx_is_refused(tmp_path):
    from helpers import EXAMPLE_XLSX
    with zipfile.ZipFile(EXAMPLE_XLSX) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"spreadsheetml.sheet.main+xml", b"sheet.macroEnabled.main+xml")
    target = tmp_path / "renamed.xlsx"
    with zipfile.ZipFile(target, "w") as archive:
        for part, data in parts.items():
            archive.writestr(part, data)
    result = run("score", target, "--period", "2026-09", "--out", "out")
    assert result.exit_code == 1 and "工作簿含宏" in result.output
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ Strict Open XML
_STRICT = ((b"http://schemas.openxmlformats.org/spreadsheetml/2006/main", b"http://purl.oclc.org/ooxml/spreadsheetml/main"),
           (b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
            b"http://purl.oclc.org/ooxml/officeDocument/relationships"))


def _saved_as_strict(source, target):
    """``source`` as Excel's "Strict Open XML Spreadsheet" writes it: the same parts in ISO 29500
    Strict's namespaces (openpyxl finds no sheet in it; calamine reads it)."""
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in archive.infolist():
            data = archive.read(info)
            for transitional, strict in _STRICT:
                data = data.replace(transitional, strict)
            out.writestr(info, data)
    return target


def test_cards_and_input_sheets_saved_as_strict_open_xml_are_refused_with_the_way_out(card, tmp_path):
    """Before, the input read as "no agent rows" (and openpyxl's warning reached the terminal)."""
    from helpers import EXAMPLE_XLSX
    bad_input = _saved_as_strict(EXAMPLE_XLSX, tmp_path / "strict-input.xlsx")
    checked = run("check", bad_input, "--period", "2026-09")
    assert checked.exit_code == 1
    assert "Strict Open XML 电子表格" in checked.output and "另存为“Excel 工作簿 (*.xlsx)”" in checked.output
    assert "没有任何客服数据行" not in checked.output and "Warning" not in checked.output
    bad_card = _saved_as_strict(answered(card, tmp_path / "back" / card.name), tmp_path / "strict-card.xlsx")
    result = collect(bad_card)
    assert result.exit_code == 1 and "Strict Open XML 电子表格" in result.output


def test_a_transitional_workbook_naming_the_strict_namespace_in_a_cell_is_read(tmp_path):
    """Only the package's relationships tell Strict: a cell's text may say anything."""
    from helpers import example_rows, write_xlsx
    rows = example_rows()
    rows[1][1] = "http://purl.oclc.org/ooxml/"
    checked = run("check", write_xlsx(tmp_path / "cell.xlsx", rows), "--period", "2026-09")
    assert checked.exit_code == 0, checked.output
