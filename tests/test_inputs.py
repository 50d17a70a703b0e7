"""Reading and validating input sheets: headers, encodings, every problem at once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from helpers import example_rows, ruleset, write_csv, write_xlsx
from kpi.core import inputs
from kpi.pipeline import month
from kpi.io import readers
from kpi.core.errors import InputError

RULES = ruleset()


def parse(path):
    return inputs.parse(readers.read(path), RULES)


def problems_of(path):
    with pytest.raises(InputError) as caught:
        month.validate(path, RULES)
    return caught.value.problems


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_csv_in_every_excel_encoding(tmp_path, encoding):
    path = write_csv(tmp_path / "in.csv", example_rows(), encoding=encoding)
    agents, problems, _ = parse(path)
    assert problems == []
    assert len(agents) == 25 and agents[0].name == "王芳"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "utf-16"])
def test_a_byte_order_mark_converted_into_the_text_is_not_part_of_the_first_header(tmp_path, encoding):
    """A UTF-8 file with its BOM converted to GB18030 or UTF-16 (iconv, a text editor) keeps the
    mark as an invisible first character; headers copied from a web page carry zero-width spaces."""
    rows = example_rows()
    rows[0][0] = "\ufeff" + rows[0][0]
    rows[0][1] = rows[0][1][:1] + "\u200b" + rows[0][1][1:] + "\u2060"
    agents, problems, _ = parse(write_csv(tmp_path / "marked.csv", rows, encoding=encoding))
    assert problems == []
    assert len(agents) == 25 and agents[0].name == "王芳" and agents[0].agent_id == rows[1][0]


def test_cells_an_exporter_wrapped_as_excel_text_are_read_as_their_text(tmp_path):
    """Exporters write ids and long numbers as ="KF1001" so that Excel keeps them as typed;
    Excel shows KF1001, and so does kpi (any other cell starting with = is left as it is)."""
    rows = example_rows()
    wrapped = [row[:] for row in rows]
    for row in wrapped[1:]:
        row[0], row[4] = f'="{row[0]}"', f'="{row[4]}"'
    wrapped[1][1] = '="王""芳"""'   # a quote inside: doubled, as in a CSV field
    agents, problems, _ = parse(write_csv(tmp_path / "wrapped.csv", wrapped))
    plain, _, _ = parse(write_csv(tmp_path / "plain.csv", rows))
    assert problems == []
    assert [(a.agent_id, dict(a.values)) for a in agents] == [(a.agent_id, dict(a.values)) for a in plain]
    assert agents[0].name == '王"芳"'


def test_xlsx_and_csv_read_the_same_agents(tmp_path):
    from helpers import EXAMPLE_CSV, EXAMPLE_XLSX
    from_xlsx = parse(EXAMPLE_XLSX).agents
    from_csv = parse(EXAMPLE_CSV).agents
    assert [(a.agent_id, dict(a.values)) for a in from_xlsx] == [(a.agent_id, dict(a.values)) for a in from_csv]


def test_field_id_headers_in_any_order(tmp_path):
    rows = example_rows()
    header = [inputs.header_names(RULES)[inputs.normalise_header(h)] for h in rows[0]]
    order = list(reversed(range(len(header))))
    shuffled = [[row[i] for i in order] for row in [header, *rows[1:]]]
    agents, problems, _ = parse(write_csv(tmp_path / "ids.csv", shuffled))
    assert problems == [] and len(agents) == 25
    assert agents[0].values["sales_target"] == Decimal(rows[1][4])


def test_blank_and_total_rows_are_skipped_and_text_numbers_read(tmp_path):
    rows = example_rows()
    rows[1][4] = "１２３,０００"          # full-width digits with a thousands separator
    rows[2][5] = " ¥98,765.40 "         # yuan sign and spaces
    rows.insert(3, [""] * len(rows[0]))  # a blank row
    rows.append(["合计"] + [""] * (len(rows[0]) - 1))
    agents, problems, _ = parse(write_csv(tmp_path / "human.csv", rows))
    assert problems == [] and len(agents) == 25
    assert agents[0].values["sales_target"] == Decimal("123000")
    assert agents[1].values["sales_actual"] == Decimal("98765.40")


def test_every_problem_is_listed_with_its_cell(tmp_path):
    rows = example_rows()
    rows[1][8] = str(int(rows[1][7]) + 1)   # deals > visits       (I2)
    rows[2][12] = str(int(rows[2][11]) + 5)  # refunds > orders    (M3)
    rows[3][4] = ""                          # empty sales target  (E4)
    rows[4][15] = "8.5"                      # response_time > 8   (P5)
    rows[5][6] = "-100"                      # negative last month (G6)
    rows[6][3] = "P9"                        # unknown level       (D7)
    rows[7][0] = rows[1][0]                  # duplicate agent id  (A8)
    rows[8][7] = "3000次"                    # unit it cannot read (H9)
    rows[9][14] = "1.5"                      # disputes not whole  (O10)
    rows[10][20] = "2.3"                     # not a half point    (U11)
    problems = problems_of(write_csv(tmp_path / "bad.csv", rows))
    found = {(p.location.split("!")[1], p.field, p.code) for p in problems}
    assert found == {
        ("I2", "deals", "at_most_field"), ("M3", "refunds", "at_most_field"), ("E4", "sales_target", "required"),
        ("P5", "response_time", "at_most_max"), ("G6", "sales_last_month", "at_least_min"),
        ("D7", "level", "unknown_level"), ("A8", "agent_id", "duplicate_id"), ("H9", "visits", "not_a_number"),
        ("O10", "disputes", "not_whole"), ("U11", "work_summary", "increment"),
    }
    by_cell = {p.location.split("!")[1]: p for p in problems}
    assert by_cell["I2"].agent == rows[1][0] and by_cell["H9"].value == "3000次"


def test_missing_columns_are_all_named(tmp_path):
    rows = [[cell for i, cell in enumerate(row) if i not in (4, 7, 20)] for row in example_rows()]
    problems = problems_of(write_csv(tmp_path / "cols.csv", rows))
    assert {p.field for p in problems} == {"sales_target", "visits", "work_summary"}
    assert {p.code for p in problems} == {"missing_column"}


def test_xlsx_problems_name_the_sheet_and_cell(tmp_path):
    rows = example_rows()
    rows[3][8] = "99999"
    problems = problems_of(write_xlsx(tmp_path / "bad.xlsx", rows))
    assert [(p.location, p.field) for p in problems] == [("填报表!I4", "deals")]


@pytest.mark.parametrize("name, content, code", [
    ("empty.csv", b"", "empty_file"),
    ("empty.xlsx", b"", "empty_file"),
    ("renamed.xlsx", "工号,姓名\n".encode(), "not_xlsx"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old_xls"),
    ("九月.et", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "wps_et"),
    ("encrypted.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "encrypted"),
    ("broken.xlsx", b"PK\x03\x04" + b"\0" * 50, "not_xlsx"),
    ("data.json", b"{}", "unsupported_format"),
    ("binary.csv", b"\x00\x01\x02\xff\xfe", "not_text"),
    ("headerless.csv", "a,b,c\n1,2,3\n".encode(), "no_header"),
    ("header-only.csv", "工号,姓名,组别\n".encode(), "missing_column"),
])
def test_unreadable_files_are_one_clear_problem(tmp_path, name, content, code):
    path = tmp_path / name
    path.write_bytes(content)
    assert code in {p.code for p in problems_of(path)}


def test_a_zip_of_a_version_python_cannot_read_is_not_a_workbook(tmp_path):
    """zipfile raises NotImplementedError (not BadZipFile) for 'version needed to extract' 6.4."""
    path = write_xlsx(tmp_path / "new-zip.xlsx", example_rows())
    blob = bytearray(path.read_bytes())
    directory = blob.index(b"PK\x01\x02")
    blob[directory + 6] = 64
    path.write_bytes(bytes(blob))
    assert [p.code for p in problems_of(path)] == ["not_xlsx"]


def test_a_missing_file_is_a_problem(tmp_path):
    assert [p.code for p in problems_of(tmp_path / "nowhere.csv")] == ["not_found"]


@pytest.mark.parametrize("id_header, name_header", [("客服工号", "客服姓名"), ("员工编号", "员工姓名"), ("员工工号", "姓名")])
def test_a_shop_s_own_words_for_the_id_and_name_columns(tmp_path, id_header, name_header):
    rows = example_rows()
    rows[0][0], rows[0][1] = id_header, name_header
    agents, problems, _ = parse(write_csv(tmp_path / "own.csv", rows))
    assert problems == [] and (agents[0].agent_id, agents[0].name) == ("KF1001", "王芳")


def test_header_row_below_a_title_row(tmp_path):
    rows = [["客服人员绩效考核表 2026-09"], *example_rows()]
    agents, problems, _ = parse(write_xlsx(tmp_path / "titled.xlsx", rows))
    assert problems == [] and len(agents) == 25
    assert agents[0].origin == "填报表!A3"


def test_the_blank_template_names_every_field():
    from helpers import ROOT
    path = ROOT / "templates" / "input-template.csv"
    header = path.read_text(encoding="utf-8-sig").strip().split(",")
    names = inputs.header_names(RULES)
    from kpi.io.writers import template   # issue 22: per-item comment columns only when configured
    assert sorted(names[inputs.normalise_header(h)] for h in header) == sorted(f.id for f in template.columns(RULES))


def test_a_formula_without_a_stored_value_is_named(tmp_path):
    import openpyxl
    rows = example_rows()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "填报表"
    for row in rows:
        sheet.append([float(v) if v.replace(".", "").isdigit() else (v or None) for v in row])
    sheet["F2"] = "=E2*0.9"                 # openpyxl stores no calculated value
    path = tmp_path / "formula.xlsx"
    book.save(path)
    problems = problems_of(path)
    assert [(p.location, p.code, p.value) for p in problems] == [("填报表!F2", "formula_no_value", "=E2*0.9")]


def test_numbers_typed_as_text_in_xlsx_are_read_and_noticed(tmp_path):
    rows = example_rows()
    rows[1][4] = "１２３,０００"
    path = write_xlsx(tmp_path / "text.xlsx", [[str(v) for v in row] for row in rows])
    parsed = parse(path)
    assert parsed.problems == [] and parsed.agents[0].values["sales_target"] == Decimal("123000")
    codes = {(n.location, n.code) for n in parsed.notices}
    assert ("填报表!E2", "read_as") in codes
    assert ("填报表!F2", "number_as_text") in codes


def test_a_really_encrypted_workbook_is_named(tmp_path):
    from msoffcrypto.format.ooxml import OOXMLFile
    from helpers import EXAMPLE_XLSX
    target = tmp_path / "locked.xlsx"
    with open(EXAMPLE_XLSX, "rb") as plain, open(target, "wb") as locked:
        OOXMLFile(plain).encrypt("secret", locked)
    assert [p.code for p in problems_of(target)] == ["encrypted"]


def test_remembered_numbers_keep_their_exact_form():
    """Typed cells share one Decimal per recent value; 5 and 5.0, 0.0 and -0.0 stay apart."""
    from kpi.core.inputs import parse_number
    seen = [str(parse_number(value)) for value in (5, 5.0, 5, 0.0, -0.0, 0.1, 0.1, Decimal("7.50"), Decimal("7.5"))]
    assert seen == ["5", "5.0", "5", "0.0", "-0.0", "0.1", "0.1", "7.50", "7.5"]
    assert parse_number(12.5) is parse_number(12.5)


@pytest.mark.parametrize("typed, read", [
    ("1,200", "1200"), ("12,345,678.90", "12345678.90"), ("-1,000.5", "-1000.5"), ("１，２００", "1200"),
    ("¥3,000", "3000"), ("1200", "1200"),
    ("1,23", None), ("1,5", None), ("1,2,3", None), (",100", None), ("100,", None), ("1,0000", None), ("12,00", None),
    # Excel's 会计专用 format shows 0 as "¥-", and a CSV saved from it keeps that text; a bare
    # dash says nothing of the amount and stays no number
    ("¥-", "0"), (" ¥-   ", "0"), ("￥ -", "0"), ("¥ - ", "0"), ("-", None), ("¥--", None), ("¥-5", "-5"),
])
def test_a_comma_is_read_only_as_a_thousands_separator(typed, read):
    """A decimal comma (1,5 from a European-locale export) or a misplaced one is no number: read
    as 15 or 123 it would be paid on silently."""
    from kpi.core.inputs import parse_number
    assert parse_number(typed, money=True) == (None if read is None else Decimal(read))


def test_a_decimal_comma_in_a_csv_is_named_by_its_cell(tmp_path):
    rows = example_rows()
    column = rows[0].index("实际销售额")
    rows[1][column] = "145029,62"
    problems = problems_of(write_csv(tmp_path / "comma.csv", rows))
    assert [(p.code, p.location, p.value) for p in problems] == [
        ("not_a_number", f"comma.csv!{chr(ord('A') + column)}2", "145029,62")]


def test_an_accounting_zero_in_a_csv_is_read_and_noticed(tmp_path):
    """Only money reads "¥-" as 0: a count typed so is no number."""
    from kpi.core.inputs import parse_number
    assert parse_number("¥-", money=False) is None
    rows = example_rows()
    column = rows[0].index("上月销售额")
    rows[1][column] = " ¥-   "
    parsed = parse(write_csv(tmp_path / "acct.csv", rows))
    assert parsed.problems == [] and parsed.agents[0].values["sales_last_month"] == Decimal(0)
    assert [(n.code, n.params) for n in parsed.notices if n.field == "sales_last_month"] == [
        ("read_as", (("number", "0"),))]


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_numbers_excel_showed_in_scientific_notation_are_refused_with_why(tmp_path, suffix):
    """Excel saves a CSV as it shows the cells: a long number in a narrow column becomes
    2.02301E+11, its digits gone. An id read that way would start a new agent in the ledger."""
    rows = example_rows()
    rows[1][0] = "2.02301E+11"
    rows[2][rows[0].index("实际销售额")] = "1.45E+05"
    path = tmp_path / f"sci.{suffix}"
    problems = problems_of(write_csv(path, rows) if suffix == "csv" else write_xlsx(path, rows))
    assert sorted((p.code, p.field) for p in problems) == [("id_scientific", "agent_id"), ("scientific", "sales_actual")]
    assert problems[0].value == "2.02301E+11"


@pytest.mark.parametrize("agent_id", [".", "..", "...", " . "])
def test_an_id_of_dots_alone_is_refused(tmp_path, agent_id):
    """A placeholder for a newcomer without an id, and an address no browser keeps (it resolves
    ``/agents/..`` away): the agent could never open their own page."""
    rows = example_rows()
    rows[1][0] = agent_id
    problems = problems_of(write_csv(tmp_path / "dots.csv", rows))
    assert [(p.code, p.location) for p in problems] == [("id_dots", "dots.csv!A2")]


@pytest.mark.parametrize("agent_id", ["KF1E+05", "2E05", "1E5", "E+11", "12.5E"])
def test_ids_only_look_scientific_when_excel_would_have_shown_them_so(tmp_path, agent_id):
    rows = example_rows()
    rows[1][0] = agent_id
    parsed = parse(write_csv(tmp_path / "ids.csv", rows))
    assert parsed.problems == [] and parsed.agents[0].agent_id == agent_id
