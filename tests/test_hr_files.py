"""Issue 22: files HR can import: the closed payroll's CSV = its xlsx, GBK on request, a signature block."""

from __future__ import annotations

import csv
import io

import openpyxl

from helpers import run
from helpers import EXAMPLE_CSV, copy_config, edit, example_rows, write_csv

from test_ledger import approve_levels, db



def closed(tmp_path, *extra, path=EXAMPLE_CSV, **env):
    assert run("score", path, "--period", "2026-09", "--out", "out").exit_code == 0
    run("confirm", "KF1001", "--period", "2026-09")
    approve_levels()
    return run("close", "2026-09", "--out", "final", *extra, **env)


def xlsx_rows(path):
    sheet = openpyxl.load_workbook(path, data_only=True).active
    return [[("" if v is None else v) for v in row] for row in sheet.iter_rows(min_row=3, values_only=True)]


def test_the_closed_csv_has_exactly_the_columns_and_rows_of_the_closed_xlsx(tmp_path):
    result = closed(tmp_path)
    assert result.exit_code == 0, result.output
    table = xlsx_rows(tmp_path / "final" / "payroll-2026-09.xlsx")
    data = (tmp_path / "final" / "payroll-2026-09.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")                                   # UTF-8 with BOM by default
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == table[0] and rows[0][-3:] == ["确认状态", "下月级别", "人事提示"]
    assert len(rows) == len(table) == 27                                     # header, 25 agents, totals
    by_id = {r[0]: r for r in rows[1:]}
    assert by_id["KF1001"][-3:-1] == ["已确认", "P3"]
    assert by_id["KF1023"][-3:] == ["逾期未答复", "P1", "建议辞退,请人事处理(级别未变)"]
    for csv_row, xlsx_row in zip(rows[1:-1], table[1:-1]):
        assert csv_row[-3:] == [str(v) for v in xlsx_row[-3:]]
        assert csv_row[9] == f"{xlsx_row[9]:.2f}"


def test_gbk_on_request_for_import(tmp_path):
    result = closed(tmp_path, "--encoding", "gbk")
    assert result.exit_code == 0, result.output
    data = (tmp_path / "final" / "payroll-2026-09.csv").read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    text = data.decode("gbk")
    assert text.splitlines()[0].startswith("工号,姓名,组别,级别") and "逾期未答复" in text


def test_gb18030_by_config(tmp_path):
    folder = copy_config(tmp_path)
    edit(folder / "pay_bands.toml", 'csv_encoding = "utf-8"', 'csv_encoding = "gb18030"')
    assert run("score", EXAMPLE_CSV, "--period", "2026-09", "--out", "out", "--config", folder).exit_code == 0
    approve_levels()
    assert run("close", "2026-09", "--out", "final", "--config", folder).exit_code == 0
    assert "逾期未答复" in (tmp_path / "final" / "payroll-2026-09.csv").read_bytes().decode("gb18030")
    assert "工号" in (tmp_path / "out" / "payroll-2026-09.csv").read_bytes().decode("gb18030")


def test_a_name_gbk_cannot_hold_leaves_the_month_open(tmp_path):
    rows = example_rows()
    rows[1][1] = "王𠮷"                                   # 𠮷 is in GB18030, not in GBK
    result = closed(tmp_path, "--encoding", "gbk", path=write_csv(tmp_path / "in.csv", rows))
    assert result.exit_code == 1
    assert "工资表 CSV 不能用 gbk 编码写出:工号 KF1001 的“𠮷”不在该字符集中" in result.output
    assert db().execute("SELECT status FROM months").fetchone()[0] == "open"
    assert not (tmp_path / "final" / "payroll-2026-09.xlsx").exists()
    assert not (tmp_path / "final" / "payroll-2026-09.csv").exists()
    assert run("close", "2026-09", "--out", "final", "--encoding", "gb18030").exit_code == 0
    assert "王𠮷" in (tmp_path / "final" / "payroll-2026-09.csv").read_bytes().decode("gb18030")


def test_the_payroll_prints_a_signature_block(tmp_path):
    assert closed(tmp_path).exit_code == 0
    for path in (tmp_path / "final" / "payroll-2026-09.xlsx", tmp_path / "out" / "payroll-2026-09.xlsx"):
        footer = openpyxl.load_workbook(path).active.oddFooter
        assert footer.left.text.startswith("制表:") and "日期:" in footer.left.text
        assert footer.center.text.startswith("审核:") and footer.right.text.startswith("批准:")


def test_the_signature_block_can_be_switched_off(tmp_path):
    folder = copy_config(tmp_path)
    edit(folder / "pay_bands.toml", "signatures = true", "signatures = false")
    assert run("score", EXAMPLE_CSV, "--period", "2026-09", "--out", "out", "--config", folder).exit_code == 0
    footer = openpyxl.load_workbook(tmp_path / "out" / "payroll-2026-09.xlsx").active.oddFooter
    assert "制表" not in (footer.left.text or "")
