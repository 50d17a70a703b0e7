"""kpi import: platform exports (千牛 客服绩效 汇总分析) into the month's fill-in workbook.

The exports are built here the way 千牛 writes them: a title row and a date
row above the header, 旺旺昵称 as ``店铺:子账号``, money and percentages as text,
full-width brackets in headers, 汇总值 / 平均值 rows, and ``延时统计`` where the
platform has not finished counting.
"""

from __future__ import annotations

import ast
import datetime
import shutil
from decimal import Decimal

import openpyxl
import pytest
import xlsxwriter
from hypothesis import given
from hypothesis import strategies as st

from helpers import run
from helpers import ROOT, copy_config, example_rows, ruleset, write_csv
from kpi.core import imports
from kpi.io import profiles, readers
from kpi.core.errors import InputError

NAME = "客服绩效-业绩分析-汇总分析_20260901_20260930_1717.xlsx"
HEADER = ["旺旺昵称", "咨询人数", "有效接待人数", "询单人数", "下单人数", "销售人数", "销售额（元）", "销售量",
          "订单量", "成功退款金额", "询单转化率", "平均响应时长"]
ROWS = [
    ["小店:王芳", 900, 880, 3864, 90, 83, "￥145,029.62", 200, 163, "￥1,200.00", "2.15%", "1分23秒"],
    ["小店:李娜", 600, 590, 3000, 60, 55, "￥100,000.50", 150, 100, "￥0.00", "1.83%", "25"],
    ["旧店:娜娜", 100, 90, 314, 10, 5, "￥0", 10, 9, "0", "1.59%", "30"],
    ["小店:路人", 1, 1, 1, 0, 0, "0", 0, 0, "0", "0.00%", "0"],
    ["汇总值", 1601, 1561, 7179, 160, 143, "￥245,030.12", 360, 272, "", "", ""],
    ["平均值", 400, 390, 1794, 40, 35, "￥61,257.53", 90, 68, "", "", ""],
]
ROSTER = [["工号", "姓名", "组别", "级别", "旺旺账号"],
          ["KF1001", "王芳", "售前一组", "P1", "小店：王芳"],          # full-width colon
          ["KF1002", "李娜", "售前一组", "P3", "小店:李娜；旧店:娜娜"],   # two accounts, full-width ;
          ["KF1003", "张伟", "售前二组", "P2", ""]]



def write_export(path, rows=ROWS, header=HEADER, title=("客服绩效-业绩分析-汇总分析", "统计时间:2026-09-01 ~ 2026-09-30")):
    """An export as 千牛 writes it: title rows, a blank row, then the header (row 4) and the data."""
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    sheet = book.add_worksheet("Sheet1")
    for r, text in enumerate(title):
        sheet.write_string(r, 0, text)
    for c, text in enumerate(header):
        sheet.write_string(3, c, text)
    for r, row in enumerate(rows, start=4):
        for c, value in enumerate(row):
            if value != "":
                sheet.write(r, c, value)
    book.close()
    return path


@pytest.fixture
def month(tmp_path):
    """A roster with 旺旺账号, its 2026-09 fill-in workbook, and an export of the month."""
    roster = write_csv(tmp_path / "roster.csv", ROSTER)
    sheet = tmp_path / "填报表-2026-09.xlsx"
    result = run("template", "--period", "2026-09", "--roster", roster, "-o", sheet, "--db", tmp_path / "none.db")
    assert result.exit_code == 0, result.output
    return sheet, write_export(tmp_path / NAME)


def cells(path, *refs):
    sheet = openpyxl.load_workbook(path)["填报表"]
    return [sheet[ref].value for ref in refs]


# ------------------------------------------------------------------ values
@pytest.mark.parametrize("value, fmt, expected", [
    ("￥1,234.56", "money", "1234.56"), ("¥0", "money", "0"), ("1,234.56元", "money", "1234.56"),
    (1234.56, "money", "1234.56"), ("１２３", "count", "123"), ("1,234", "count", "1234"),
    ("32.97%", "percent", "0.3297"), ("32.97%", "ratio", "0.3297"), ("0.9971", "ratio", "0.9971"),
    (0.3297, "percent", "0.3297"), ("83", "seconds", "83"), ("83秒", "seconds", "83"), ("1分23秒", "seconds", "83"),
    ("0:01:23", "seconds", "83"), ("1:23", "seconds", "83"), (datetime.time(0, 1, 23), "seconds", "83"),
    ("1小时2分3秒", "seconds", "3723"), ("12.5秒", "seconds", "12.5"), ("1,234.5%", "percent", "12.345"),
])
def test_values_are_read_exactly(value, fmt, expected):
    assert imports.parse_value(value, fmt) == Decimal(expected)


@pytest.mark.parametrize("value, fmt", [("延时统计", "count"), ("-", "money"), ("32.97%", "count"),
                                        ("1分钟多", "seconds"), ("abc%", "percent"), (True, "count"),
                                        ("2,15%", "percent"), ("1,5", "money"), ("1,23", "count")])
def test_values_that_are_no_number_are_not_read(value, fmt):
    assert imports.parse_value(value, fmt) is None


@given(st.decimals(min_value=0, max_value=10 ** 9, places=2, allow_nan=False, allow_infinity=False))
def test_money_written_with_yuan_sign_and_separators_reads_back(amount):
    assert imports.parse_value(f"￥{amount:,}", "money") == amount


def test_roster_accounts_split_on_every_separator():
    assert imports.split_accounts("小店:王芳; 旧店:芳芳；老店:小芳，a、b\nc") == (
        "小店:王芳", "旧店:芳芳", "老店:小芳", "a", "b", "c")
    assert imports.split_accounts(None) == ()


def test_matching_full_and_bare_accounts():
    row = lambda account: imports.ExportRow(account, {}, {}, f"x!A{len(account)}", "x")  # noqa: E731
    agents = [imports.Agent("KF1", "甲", ("小店:阿甲",)), imports.Agent("KF2", "乙", ("阿乙",)),
              imports.Agent("KF3", "丙", ("A店:小丙",)), imports.Agent("KF4", "丁", ("B店:小丙",))]
    out = imports.match([row("小店 : 阿甲"), row("大店:阿乙"), row("阿甲"), row("小丙"), row("C店:阿甲")], agents)
    assert {a: [r.account for r in rows] for a, rows in out.by_agent.items()} == {
        "KF1": ["小店 : 阿甲", "阿甲"], "KF2": ["大店:阿乙"]}
    assert [r.account for r in out.unmatched] == ["C店:阿甲"]        # another shop's 阿甲 is not ours
    assert [(p.code, p.params) for p in out.problems] == [
        ("import_ambiguous_account", (("account", "小丙"), ("agents", "KF3、KF4")))]
    assert [a.agent_id for a in out.missing] == ["KF3", "KF4"]


# ------------------------------------------------------------------ reading exports
def read(path, period="2026-09"):
    rules = ruleset(period)
    return imports.read_export(readers.read(path), profiles.load(None, rules), period,
                               {f.id: f.type for f in rules.fields})


def test_export_rows_read_with_summaries_skipped(tmp_path):
    export = read(write_export(tmp_path / NAME))
    assert export.problems == [] and export.profile.id == "qianniu-kefu-performance" and export.absent == ()
    assert [(r.account, r.where) for r in export.rows] == [
        ("小店:王芳", f"[{NAME}]Sheet1!A5"), ("小店:李娜", f"[{NAME}]Sheet1!A6"),
        ("旧店:娜娜", f"[{NAME}]Sheet1!A7"), ("小店:路人", f"[{NAME}]Sheet1!A8")]
    assert export.rows[0].values == {"sales_actual": Decimal("145029.62"), "visits": 3864, "deals": 83,
                                     "orders": 163, "inquiries": 880}
    assert export.rows[0].cells["sales_actual"] == f"[{NAME}]Sheet1!G5"


def test_not_final_cells_are_refused_with_their_cell(tmp_path):
    rows = [list(r) for r in ROWS]
    rows[1][3] = "延时统计"
    rows[2][6] = "延时统计"
    export = read(write_export(tmp_path / NAME, rows))
    assert [(p.location, p.field, p.value, p.code, p.params) for p in export.problems] == [
        (f"[{NAME}]Sheet1!D6", "visits", "延时统计", "import_not_final", (("account", "小店:李娜"),)),
        (f"[{NAME}]Sheet1!G7", "sales_actual", "延时统计", "import_not_final", (("account", "旧店:娜娜"),))]
    assert "visits" not in export.rows[1].values       # never read as 0


def test_unreadable_and_fractional_counts_are_problems(tmp_path):
    rows = [list(r) for r in ROWS]
    rows[0][8] = "12.5"
    rows[1][6] = "约十万"
    rows[2][3] = -1
    rows.append(["", 1, 1, 1, 0, 0, "0", 0, 0, "0", "0.00%", "0"])      # figures without an account
    rows.append(["", "注:询单数据延迟1天统计"])                           # a footnote: skipped
    export = read(write_export(tmp_path / NAME, rows))
    assert [(p.location, p.code) for p in export.problems] == [
        (f"[{NAME}]Sheet1!I5", "import_not_count"), (f"[{NAME}]Sheet1!G6", "import_unreadable"),
        (f"[{NAME}]Sheet1!D7", "import_negative"), (f"[{NAME}]Sheet1!A11", "import_no_account")]


@pytest.mark.parametrize("name, title, expected", [
    ("客服绩效-业绩分析-汇总分析_20260801_20260831_1.xlsx", "统计时间:2026-09-01 ~ 2026-09-30",
     [("客服绩效-业绩分析-汇总分析_20260801_20260831_1.xlsx", "import_wrong_period",
       (("period", "2026-09"), ("start", "2026-08-01"), ("end", "2026-08-31"), ("first", "2026-09-01"),
        ("last", "2026-09-30")))]),
    (NAME, "统计时间:2026-09-01 00:00:00 至 2026-09-15 23:59:59",
     [(f"[{NAME}]Sheet1!A2", "import_wrong_period",
       (("period", "2026-09"), ("start", "2026-09-01"), ("end", "2026-09-15"), ("first", "2026-09-01"),
        ("last", "2026-09-30")))]),
    ("客服绩效-业绩分析-汇总分析.xlsx", "", [("客服绩效-业绩分析-汇总分析.xlsx", "import_no_date_range",
                                    (("period", "2026-09"),))]),
    ("客服绩效-业绩分析-汇总分析_20260931_20261031_1.xlsx", "",
     [("客服绩效-业绩分析-汇总分析_20260931_20261031_1.xlsx", "import_bad_date_range", (("period", "2026-09"),))]),
])
def test_an_export_of_another_range_is_refused(tmp_path, name, title, expected):
    export = read(write_export(tmp_path / name, title=("客服绩效-业绩分析-汇总分析", title)))
    assert [(p.location, p.code, p.params) for p in export.problems] == expected


def test_a_file_no_profile_reads_is_refused(tmp_path):
    export = read(write_export(tmp_path / "report.xlsx", header=["客服", "接待人数", "金额"]))
    assert [(p.location, p.code) for p in export.problems] == [("report.xlsx", "import_unknown_export")]
    export = read(write_export(tmp_path / NAME, header=["客服", "接待人数", "金额"]))
    assert [(p.location, p.code, p.params) for p in export.problems] == [
        (NAME, "import_header_not_found", (("profile", "千牛 客服绩效-业绩分析-汇总分析"), ("rows", "10"),
                                           ("words", "旺旺昵称|客服昵称、询单人数、销售额|销售额(元)|客服销售额")))]


@given(st.text(alphabet="王芳小店abcXYZ019_- ", min_size=1, max_size=8).filter(lambda t: t.strip() and ":" not in t))
def test_an_account_matches_whatever_width_and_spacing_it_is_written_in(sub):
    wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in sub)   # full-width twin
    rows = [imports.ExportRow(f" 小店 ： {wide} ", {}, {}, "x!A5", "x")]
    assert imports.match(rows, [imports.Agent("KF1", "甲", (f"小店:{sub.strip()}",))]).by_agent.keys() == {"KF1"}


def test_a_gbk_csv_export_with_the_title_row(tmp_path):
    path = tmp_path / "客服绩效-业绩分析-汇总分析_20260901_20260930_2.csv"
    write_csv(path, [["客服绩效-业绩分析-汇总分析"], ["客服昵称", "询单人数", "销售人数", "客服销售额", "订单量"],
                     ["小店:王芳", "3,864", "83", "￥145,029.62", "163"], ["均值", "3864", "83", "", ""]],
              encoding="gbk")
    export = read(path)
    assert export.problems == [] and export.absent == ("inquiries",)
    assert [(r.account, r.values) for r in export.rows] == [
        ("小店:王芳", {"visits": 3864, "deals": 83, "sales_actual": Decimal("145029.62"), "orders": 163})]


# ------------------------------------------------------------------ profiles as data
def test_every_fault_of_every_profile_is_reported_at_once(tmp_path):
    folder = copy_config(tmp_path)
    (folder / "imports" / "broken.toml").write_text('''
id = "broken"
label = { zh = "坏的", en = "Broken" }
file_pattern = "x*"
header_words = ["账号"]
account = { headers = "账号" }
colour = "red"
[[columns]]
field = "visits"
headers = "访客"
format = "percent"
[[columns]]
field = "no_such_field"
headers = "y"
format = "count"
''', encoding="utf-8")
    (folder / "imports" / "also-broken.toml").write_text('id = "x"\n', encoding="utf-8")
    with pytest.raises(profiles.ProfileError) as caught:
        profiles.load(folder, ruleset())
    assert caught.value.faults == [
        (str(folder / "imports" / "also-broken.toml"), "label", "this key is required but missing"),
        (str(folder / "imports" / "also-broken.toml"), "file_pattern", "this key is required but missing"),
        (str(folder / "imports" / "also-broken.toml"), "header_words", "this key is required but missing"),
        (str(folder / "imports" / "also-broken.toml"), "account", "this key is required but missing"),
        (str(folder / "imports" / "also-broken.toml"), "columns", "this key is required but missing"),
        (str(folder / "imports" / "broken.toml"), "colour", "unknown key (check its spelling)"),
    ]
    (folder / "imports" / "also-broken.toml").unlink()
    text = (folder / "imports" / "broken.toml").read_text(encoding="utf-8").replace('colour = "red"\n', "")
    (folder / "imports" / "broken.toml").write_text(text, encoding="utf-8")
    with pytest.raises(profiles.ProfileError) as caught:
        profiles.load(folder, ruleset())
    assert caught.value.render().splitlines() == [
        f"{folder / 'imports' / 'broken.toml'}: columns[0].format: a percent value cannot fill visits, a count field",
        f"  {folder / 'imports' / 'broken.toml'}: columns[1].field: 'no_such_field' is not an input field kpi reads "
        f"from an export (see fields.toml)"]


def test_a_broken_profile_stops_kpi_import_with_exit_1(month, tmp_path):
    sheet, export = month
    folder = copy_config(tmp_path)
    (folder / "imports" / "x.toml").write_text('id = "qianniu-kefu-performance"\n', encoding="utf-8")
    before = sheet.read_bytes()
    result = run("import", export, "--period", "2026-09", "--into", sheet, "--config", folder, "--lang", "en")
    assert result.exit_code == 1 and sheet.read_bytes() == before
    assert result.output.splitlines()[0] == f"Config error: {folder / 'imports' / 'x.toml'}: label: this key is " \
                                            "required but missing"
    assert len(result.output.splitlines()) == 5      # label, file_pattern, header_words, account, columns


def test_parsing_and_matching_import_no_io_library():
    for module in ("core/imports", "io/profiles"):
        tree = ast.parse((ROOT / "kpi" / f"{module}.py").read_text(encoding="utf-8"))
        imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not imported & {"openpyxl", "xlsxwriter", "click", "sqlite3", "csv"}, module


def test_a_shop_profile_in_its_config_directory_is_used(month, tmp_path):
    """A shop whose export names the columns differently adds a profile, without a release."""
    sheet, _ = month
    folder = tmp_path / "shop"
    folder.mkdir()
    shutil.copytree(copy_config(tmp_path), folder / "config")
    (folder / "config" / "imports" / "shop.toml").write_text('''
id = "shop-daily-sum"
label = { zh = "本店客服月报", en = "Our monthly agent report" }
file_pattern = "客服月报_*"
header_words = ["客服", "成交金额"]
header_rows = 3
account = { headers = "客服" }
summary_words = ["合计"]
[[columns]]
field = "sales_actual"
headers = "成交金额"
format = "money"
''', encoding="utf-8")
    export = folder / "客服月报_20260901_20260930_.csv"
    write_csv(export, [["客服", "成交金额"], ["王芳", "￥1,000.50"], ["合计", "￥1,000.50"]])
    result = run("import", export, "--period", "2026-09", "--into", sheet, "--config", folder / "config",
                 "--db", tmp_path / "none.db")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"已读取 {export.name}:本店客服月报,1 个账号。"
    assert cells(sheet, "H2") == [1000.5]


# ------------------------------------------------------------------ kpi import
def test_import_fills_marks_and_locks_the_imported_cells(month, tmp_path):
    sheet, export = month
    book = openpyxl.load_workbook(sheet)
    book["填报表"]["G2"] = 150000          # the supervisor's sales target, typed before the import
    book.save(sheet)
    result = run("import", export, "--period", "2026-09", "--into", sheet, "--db", tmp_path / "none.db")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"已读取 {NAME}:千牛 客服绩效-业绩分析-汇总分析,4 个账号。",
        "1 行导出数据没有对应的客服(请在花名册或填报表的“旺旺账号”中登记):",
        f"  [{NAME}]Sheet1!A8  小店:路人",
        "1 名客服没有对应的导出行(其单元格保持不变):",
        "  工号 KF1003 张伟  旺旺账号:(未登记)",
        "仍由主管在填报表中填写:",
        "  退单量:导出只有成功退款金额(钱数),没有退单笔数",
        "  上月销售额:取自台账中上月的实际销售额;没有台账时由主管填写",
        "  主推单品实际:导出不分商品,主推单品的数量不在其中",
        "  交易纠纷(因服务态度):因服务态度引起的纠纷需要主管判断",
        "  销售目标、主推单品目标和各项主管评分",
        f"已导入:2 名客服,10 个单元格,写入 {sheet}(导入的单元格已标注并锁定;需要手工修改时加 --editable 重新导入)。",
    ]
    book = openpyxl.load_workbook(sheet)
    data = book["填报表"]
    # 实际销售额 H, 访问量 J, 成交量 K, 个人订单量 N, 咨询应答量 P; KF1002's two accounts add up
    assert [[data[f"{c}{r}"].value for c in "GHJKNPO"] for r in (2, 3, 4)] == [
        [150000, 145029.62, 3864, 83, 163, 880, None],
        [None, 100000.5, 3314, 60, 109, 680, None],
        [None, None, None, None, None, None, None]]
    assert data["H2"].comment.text == f"由 kpi 导入:[{NAME}]Sheet1!G5"
    assert data["J3"].comment.text == f"由 kpi 导入:[{NAME}]Sheet1!D6 + [{NAME}]Sheet1!D7"
    assert data["H2"].protection.locked and not data["G2"].protection.locked and not data["H4"].protection.locked
    assert data["H2"].fill.fgColor.rgb == "00E2EFDA" and data["G2"].comment is None
    # what the template set up is still there
    assert book.sheetnames == ["填报表", "说明"] and data.protection.sheet and data.freeze_panes == "C2"
    assert len(data.data_validations.dataValidation) == 20   # 19 fields and 评语
    assert data["Y1"].value == "旺旺账号" and data["Y3"].value == "小店:李娜; 旧店:娜娜"
    assert book["说明"]["A1"].value.startswith("2026-09 适用的考核规则")


def test_reimport_shows_changes_and_editable_leaves_cells_unlocked(month, tmp_path):
    sheet, export = month
    assert run("import", export, "--period", "2026-09", "--into", sheet, "--db", tmp_path / "none.db").exit_code == 0
    again = run("import", export, "--period", "2026-09", "--into", sheet, "--db", tmp_path / "none.db")
    assert again.output.splitlines()[1] == "没有单元格的值改变(10 个单元格已是导出中的值)。"
    rows = [list(r) for r in ROWS]
    rows[0][6], rows[1][8] = "￥146,000.00", 101
    newer = write_export(tmp_path / "客服绩效-业绩分析-汇总分析_20260901_20260930_1802.xlsx", rows)
    before = sheet.read_bytes()
    dry = run("import", newer, "--period", "2026-09", "--into", sheet, "--dry-run", "--db", tmp_path / "none.db")
    assert dry.exit_code == 0 and sheet.read_bytes() == before
    assert dry.output.splitlines()[1:4] == [
        "以下 2 个单元格的值将改变(原值 → 新值):",
        "  填报表!H2  工号 KF1001 · 实际销售额:145029.62 → 146000",
        "  填报表!N3  工号 KF1002 · 个人订单量:109 → 110"]
    assert dry.output.splitlines()[-1] == "试运行:将导入 2 名客服的 10 个单元格,未写入任何文件。"
    out = tmp_path / "out.xlsx"
    result = run("import", newer, "--period", "2026-09", "--into", sheet, "-o", out, "--editable",
                 "--db", tmp_path / "none.db")
    assert result.exit_code == 0, result.output
    assert sheet.read_bytes() == before                      # -o: the sheet itself is untouched
    assert cells(out, "H2", "N3") == [146000, 110]
    assert not openpyxl.load_workbook(out)["填报表"]["H2"].protection.locked


def test_nothing_is_written_when_anything_is_refused(month, tmp_path):
    sheet, export = month
    rows = [list(r) for r in ROWS]
    rows[1][2] = "延时统计"
    late = write_export(tmp_path / "客服绩效-业绩分析-汇总分析_20260901_20260930_9.xlsx", rows)
    august = write_export(tmp_path / "客服绩效-业绩分析-汇总分析_20260801_20260831_9.xlsx",
                          [["小店:新人", 1, 1, 1, 0, 0, "0", 0, 0, "0", "0.00%", "0"]], title=("客服绩效", ""))
    before = sheet.read_bytes()
    result = run("import", late, august, export, "--period", "2026-09", "--into", sheet, "--db", tmp_path / "none.db")
    assert result.exit_code == 1
    assert result.output.splitlines()[:3] == [
        "输入有 6 处问题,未生成任何文件:",
        "  [客服绩效-业绩分析-汇总分析_20260901_20260930_9.xlsx]Sheet1!C6  咨询应答量:填写为“延时统计” → "
        "账号 小店:李娜 的数据平台尚未统计完成,不能当作 0;请待统计完成后重新导出。",
        "  客服绩效-业绩分析-汇总分析_20260801_20260831_9.xlsx  统计日期为 2026-08-01 至 2026-08-31,"
        "不是考核月 2026-09(2026-09-01 至 2026-09-30)。"]
    assert result.output.splitlines()[3] == (  # the same accounts in two exports of the month
        f"  [{NAME}]Sheet1!A5  账号 小店:王芳 已出现在 [客服绩效-业绩分析-汇总分析_20260901_20260930_9.xlsx]Sheet1!A5"
        "(同一账号导出了两次?)。")
    assert sheet.read_bytes() == before


def test_a_sheet_without_accounts_or_of_another_month_is_refused(tmp_path):
    roster = write_csv(tmp_path / "roster.csv", [row[:4] for row in ROSTER])
    sheet = tmp_path / "10.xlsx"
    assert run("template", "--period", "2026-10", "--roster", roster, "-o", sheet,
               "--db", tmp_path / "none.db").exit_code == 0
    result = run("import", write_export(tmp_path / NAME), "--period", "2026-09", "--into", sheet,
                 "--db", tmp_path / "none.db", "--lang", "en")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "2 input problem(s); nothing was written:",
        "  10.xlsx  the sheet is for 2026-10, not 2026-09.",
        "  填报表!1:1  the sheet has no 旺旺账号 (Wangwang accounts) column to match export rows to agents; "
        "add it to the roster and run kpi template again, or add the column to the sheet."]


def test_last_months_sales_come_from_the_ledger(tmp_path):
    db = tmp_path / "kpi.db"
    rows = example_rows()
    scored = run("score", write_csv(tmp_path / "09.csv", rows), "--period", "2026-09", "--out", tmp_path / "out",
                 "--no-scorecards", "--jobs", "1", "--db", db)
    assert scored.exit_code == 0, scored.output
    roster = write_csv(tmp_path / "roster.csv", ROSTER)
    sheet = tmp_path / "10.xlsx"      # written before September was scored: 上月销售额 empty
    assert run("template", "--period", "2026-10", "--roster", roster, "-o", sheet,
               "--db", tmp_path / "none.db").exit_code == 0
    export = write_export(tmp_path / "客服绩效-业绩分析-汇总分析_20261001_20261031_1.xlsx",
                          title=("客服绩效", ""))
    result = run("import", export, "--period", "2026-10", "--into", sheet, "--db", db)
    assert result.exit_code == 0, result.output
    assert "上月销售额取自台账(2026-09#1):3 名客服。" in result.output.splitlines()
    september = {row[0]: row[5] for row in rows[1:4]}
    assert cells(sheet, "I2", "I3", "I4") == [float(september[a]) for a in ("KF1001", "KF1002", "KF1003")]
    assert openpyxl.load_workbook(sheet)["填报表"]["I4"].comment.text == "由 kpi 取自台账:2026-09#1"


def test_roster_accounts_reach_the_template_only_when_the_roster_has_them(tmp_path):
    roster = write_csv(tmp_path / "roster.csv", [*ROSTER[:3], ["KF1003", "张伟", "售前二组", "P2", "a，b\nc"]])
    sheet = tmp_path / "t.xlsx"
    assert run("template", "--period", "2026-09", "--roster", roster, "-o", sheet).exit_code == 0
    data = openpyxl.load_workbook(sheet)["填报表"]
    assert [data.cell(r, 25).value for r in range(1, 5)] == ["旺旺账号", "小店:王芳", "小店:李娜; 旧店:娜娜", "a; b; c"]
    assert not data["X2"].protection.locked
    check = run("check", sheet, "--period", "2026-09")   # the extra column does not disturb reading the sheet
    assert "旺旺账号" not in check.output and "Y1" not in check.output


@pytest.mark.parametrize("title", ["统计时间:2026-09-01 ~ 2026-09-30", "2026/09/01 00:00:00 至 2026/09/30 23:59:59",
                                   "2026年9月1日-2026年9月30日", "日期:20260901－20260930"])
def test_title_date_ranges_in_the_forms_exports_use(tmp_path, title):
    export = read(write_export(tmp_path / "客服绩效-业绩分析-汇总分析.xlsx", title=("客服绩效", title)))
    assert export.problems == [] and len(export.rows) == 4


def test_the_filled_workbook_checks_once_the_supervisor_has_typed_the_rest(month, tmp_path):
    sheet, export = month
    assert run("import", export, "--period", "2026-09", "--into", sheet, "--db", tmp_path / "none.db").exit_code == 0
    book = openpyxl.load_workbook(sheet)
    data = book["填报表"]
    typed = {"G": 120000, "L": 100, "M": 90, "O": 1, "Q": 0, "R": 7, "S": 7, "T": 6, "U": 4, "V": 3, "W": 2}
    for r in (2, 3, 4):
        for col, value in typed.items():
            data[f"{col}{r}"] = value
    for col, value in {"H": 5000, "J": 300, "K": 10, "N": 20, "P": 400}.items():   # KF1003 has no export row
        data[f"{col}4"] = value
    book.save(sheet)
    result = run("check", sheet, "--period", "2026-09")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "检查通过:3 名客服,2 个组,可以评分(2026-09)"
    from kpi.pipeline import month as month_
    agents = {a.agent_id: a for a in month_.validate(sheet, ruleset()).agents}
    assert agents["KF1002"].values["sales_actual"] == Decimal("100000.5")
    assert agents["KF1002"].values["visits"] == 3314 and agents["KF1001"].values["inquiries"] == 880


def test_a_failed_save_leaves_the_workbook_as_it_was(month, tmp_path, monkeypatch):
    sheet, export = month
    before = sheet.read_bytes()

    def full_disk(self, filename):
        with open(filename, "wb") as handle:
            handle.write(b"PK half")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(openpyxl.Workbook, "save", full_disk)
    result = run("import", export, "--period", "2026-09", "--into", sheet, "--db", tmp_path / "none.db")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == f"无法写入 {sheet}:No space left on device"
    assert sheet.read_bytes() == before
    assert sorted(p.name for p in sheet.parent.iterdir() if p.suffix == ".xlsx") == sorted([NAME, sheet.name])


def test_a_shop_fixes_the_shipped_profile_in_its_config_directory(month, tmp_path):
    """Same id in the config directory: the shop's copy replaces the shipped profile (咨询人数 for 咨询应答量)."""
    sheet, export = month
    folder = copy_config(tmp_path)
    path = folder / "imports" / "qianniu-kefu-performance.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('headers = "有效接待人数"', 'headers = "咨询人数"'),
                    encoding="utf-8")
    (loaded,) = profiles.load(folder, ruleset())
    assert [c.headers for c in loaded.columns if c.field == "inquiries"] == [("咨询人数",)]
    result = run("import", export, "--period", "2026-09", "--into", sheet, "--config", folder,
                 "--db", tmp_path / "none.db")
    assert result.exit_code == 0, result.output
    assert cells(sheet, "P2", "P3") == [900, 700]
