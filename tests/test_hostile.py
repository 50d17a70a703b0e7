"""Hostile input: formula-looking text, XML entity attacks, zip bombs."""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile

import openpyxl
import pytest

from helpers import EXAMPLE_XLSX, example_rows, ruleset, write_csv
from kpi.pipeline import month
from kpi.io import readers
from kpi.core.errors import InputError

NASTY = ["=HYPERLINK(\"http://x\",\"点我\")", "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "=1+1"]


def test_formula_looking_names_stay_text_in_every_output(tmp_path):
    rows = example_rows()
    for index, nasty in enumerate(NASTY, start=1):
        rows[index][1] = nasty
    report = month.score(write_csv(tmp_path / "in.csv", rows), ruleset(), tmp_path / "out", "zh")
    out = tmp_path / "out"
    for path in [out / "payroll-2026-09.xlsx", out / "team-summary-2026-09.xlsx", *(out / "scorecards").rglob("*.xlsx")]:
        with zipfile.ZipFile(path) as archive:
            xml = "".join(archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith(".xml"))
        for formula in re.findall(r"<f>(.*?)</f>", xml):   # only kpi's own formulas
            assert re.fullmatch(r"(ROUND|SUM)\([A-Z0-9$:+*,()]+\)", formula), (path.name, formula)
    names = {row[1] for row in openpyxl.load_workbook(out / "payroll-2026-09.xlsx", data_only=True).active.iter_rows(values_only=True)}
    assert set(NASTY) <= names
    with open(out / "payroll-2026-09.csv", encoding="utf-8-sig", newline="") as handle:
        cells = {row[1] for row in csv.reader(handle)}
    assert {"'" + nasty for nasty in NASTY} <= cells
    assert len(report.rows) == 25


MARKUP = ["<r><t>李四</t></r>", "<r></t></r>", "http://example.com/工资", "mailto:hr@example.com"]


def test_markup_and_link_looking_names_stay_plain_text_in_every_workbook(tmp_path):
    """xlsxwriter takes text shaped like ``<r>…</r>`` for rich-text XML and writes it unescaped,
    and text shaped like a URL as a link: a name must show as typed, and link nowhere."""
    rows = example_rows()
    for index, name in enumerate(MARKUP, start=1):
        rows[index][1] = name
    out = tmp_path / "out"
    month.score(write_csv(tmp_path / "in.csv", rows), ruleset(), out, "zh")
    cards = sorted((out / "scorecards").rglob("*.xlsx"))[:len(MARKUP)]
    for path in [out / "payroll-2026-09.xlsx", out / "team-summary-2026-09.xlsx", *cards]:
        book = openpyxl.load_workbook(path)
        texts = {cell.value for sheet in book.worksheets for row in sheet.iter_rows() for cell in row}
        assert not any(cell.hyperlink for sheet in book.worksheets for row in sheet.iter_rows() for cell in row)
        expected = set(MARKUP) if "scorecards" not in path.parts else {MARKUP[cards.index(path)]}
        assert expected <= texts, path.name


def _rewrite_part(source, target, part, transform):
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for name in old.namelist():
            data = old.read(name)
            new.writestr(name, transform(data) if name == part else data)
    return target


def test_an_entity_expansion_workbook_is_refused_quickly(tmp_path):
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10))
              + "]>")  # a cell below uses &lol9;: 10^9 "lol"s unpacked
    path = _rewrite_part(EXAMPLE_XLSX, tmp_path / "lol.xlsx", "xl/worksheets/sheet1.xml",
                         lambda data: laughs.encode() + data.split(b"?>", 1)[1].replace(b"<v>", b"<v>&lol9;", 1))
    started = time.monotonic()
    with pytest.raises(InputError) as caught:
        month.validate(path, ruleset())
    assert time.monotonic() - started < 5
    assert [p.code for p in caught.value.problems] == ["unsafe_xml"]


def test_a_zip_bomb_is_refused_before_unpacking(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(EXAMPLE_XLSX) as old, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for name in old.namelist():
            if name != "xl/worksheets/sheet1.xml":
                new.writestr(name, old.read(name))
        with new.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            chunk = b" " * (1 << 20)
            for _ in range(120):       # 120 MiB of spaces pack to about 120 KiB
                member.write(chunk)
    assert path.stat().st_size < 2 << 20
    started = time.monotonic()
    with pytest.raises(InputError) as caught:
        readers.read(path)
    assert time.monotonic() - started < 2
    assert [p.code for p in caught.value.problems] == ["zip_bomb"]


def test_encrypted_scorecards_open_with_the_right_password_only(tmp_path):
    import msoffcrypto
    from click.testing import CliRunner
    import cli
    from helpers import EXAMPLE_CSV
    passwords = write_csv(tmp_path / "pw.csv", [["工号", "密码"], *([row[0], f"pw-{row[0]}"] for row in example_rows()[1:])])
    result = CliRunner().invoke(cli.main, ["score", str(EXAMPLE_CSV), "--period", "2026-09", "--out", "enc",
                                           "--encrypt", "--passwords", str(passwords)])
    assert result.exit_code == 0, result.output
    card = next((tmp_path / "enc" / "scorecards").rglob("KF1001-*.xlsx"))
    assert card.read_bytes()[:4] == b"\xd0\xcf\x11\xe0"
    office = msoffcrypto.OfficeFile(io.BytesIO(card.read_bytes()))
    office.load_key(password="pw-KF1001")
    plain = io.BytesIO()
    office.decrypt(plain)
    assert openpyxl.load_workbook(plain).defined_names["kpi_period"].value == '"2026-09"'
    wrong = msoffcrypto.OfficeFile(io.BytesIO(card.read_bytes()))
    wrong.load_key(password="pw-KF1002")
    with pytest.raises(msoffcrypto.exceptions.InvalidKeyError):
        wrong.decrypt(io.BytesIO())


def test_generated_passwords_are_listed_only_in_an_hr_file(tmp_path):
    import stat
    from click.testing import CliRunner
    import cli
    from helpers import EXAMPLE_CSV
    result = CliRunner().invoke(cli.main, ["score", str(EXAMPLE_CSV), "--period", "2026-09", "--out", "enc",
                                           "--encrypt", "--no-scorecards"])
    assert result.exit_code == 0, result.output
    listing = tmp_path / "enc" / "hr-only" / "passwords-2026-09.csv"
    assert stat.S_IMODE(listing.stat().st_mode) == 0o600
    rows = list(csv.reader(listing.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0] == ["工号", "姓名", "密码"] and len(rows) == 26 and all(len(r[2]) == 10 for r in rows[1:])
    results = (tmp_path / "enc" / "results.json").read_text(encoding="utf-8")
    assert all(r[2] not in results for r in rows[1:])


def test_an_external_entity_is_refused_not_fetched(tmp_path):
    doctype = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    path = _rewrite_part(EXAMPLE_XLSX, tmp_path / "xxe.xlsx", "xl/worksheets/sheet1.xml",
                         lambda data: doctype + data.split(b"?>", 1)[1].replace(b"<v>", b"<v>&secret;", 1))
    with pytest.raises(InputError) as caught:
        month.validate(path, ruleset())
    assert [p.code for p in caught.value.problems] == ["unsafe_xml"]


@pytest.mark.parametrize("expat, defused, safe", [((2, 4, 1), False, True), ((2, 5, 0), False, True),
                                                  ((2, 4, 0), False, False), ((2, 2, 9), True, True)])
def test_the_parser_must_limit_entity_expansion(monkeypatch, expat, defused, safe):
    monkeypatch.setattr(readers.openpyxl, "DEFUSEDXML", defused)
    assert readers.safe_parser(expat) is safe


def test_no_workbook_is_read_with_an_unsafe_parser(monkeypatch):
    monkeypatch.setattr(readers, "safe_parser", lambda: False)
    with pytest.raises(InputError) as caught:
        month.validate(EXAMPLE_XLSX, ruleset())
    assert [p.code for p in caught.value.problems] == ["unsafe_parser"]
