"""The platform import on the supervisor's upload page (issue 25): the example month's figures
exported the way 千牛 writes them (xlsx with title rows, money as ``￥1,234.56`` text, summary
rows; csv in GBK), previewed, refused with their cells, applied into the team's sheet."""

from __future__ import annotations

import io
import re
import warnings
from decimal import Decimal

import openpyxl
import pytest

from helpers import example_rows, run, write_csv
from test_imports import write_export
from web_world import PERIOD, login, token, world

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from kpi.ledger import db as ledger
from kpi.web import create_app

M = f"/months/{PERIOD}"
TEAM = "售前一组"
XLSX_NAME = "客服绩效-业绩分析-汇总分析_20260901_20260930_1717.xlsx"
CSV_NAME = "客服绩效-业绩分析-汇总分析_20260901_20260930_1718.csv"
HEADER = ["旺旺昵称", "咨询人数", "有效接待人数", "询单人数", "下单人数", "销售人数", "销售额（元）", "销售量",
          "订单量", "成功退款金额", "询单转化率", "平均响应时长"]
IMPORTED = {"实际销售额", "访问量(询单人数)", "成交量(成交人数)", "个人订单量", "咨询应答量"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def team_rows() -> list[dict[str, str]]:
    rows = example_rows()
    return [dict(zip(rows[0], row)) for row in rows[1:] if row[2] == TEAM]


def workbook(folder) -> bytes:
    """The team's workbook as the supervisor sends it: ``kpi template`` with the roster's
    旺旺账号, targets and judgement typed in, the platform's figures left empty."""
    agents = team_rows()
    roster = write_csv(folder / "roster.csv", [["工号", "姓名", "组别", "级别", "旺旺账号"]] + [
        [a["工号"], a["姓名"], a["组别"], a["级别"], f"小店:{a['姓名']}"] for a in agents])
    path = folder / "填报表-2026-09.xlsx"
    result = run("template", "--period", PERIOD, "--roster", roster, "-o", path, "--db", folder / "none.db")
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(path)
    sheet = book["填报表"]
    header = [cell.value for cell in sheet[1]]
    for number, agent in enumerate(agents, start=2):
        assert sheet.cell(number, 1).value == agent["工号"]
        for col, name in enumerate(header, start=1):
            if name in agent and name not in IMPORTED and name not in ("工号", "姓名", "组别", "级别"):
                sheet.cell(number, col).value = float(agent[name]) if agent[name] else None
    book.save(path)
    return path.read_bytes()


def qianniu_row(agent: dict[str, str], sales: str | None = None) -> list:
    money = f"￥{Decimal(sales or agent['实际销售额']):,.2f}"
    return [f"小店:{agent['姓名']}", int(agent["咨询应答量"]) + 20, int(agent["咨询应答量"]), int(agent["访问量(询单人数)"]),
            int(agent["成交量(成交人数)"]) + 5, int(agent["成交量(成交人数)"]), money, 300, int(agent["个人订单量"]),
            "￥0.00", "2.15%", "1分23秒"]


def exports(folder, agents=None, extra=(), name=XLSX_NAME, sales=None) -> list[tuple]:
    """One 千牛 xlsx of the agents (title rows, 汇总值 / 平均值 rows) as a form's files."""
    agents = team_rows() if agents is None else agents
    rows = [qianniu_row(a, (sales or {}).get(a["工号"])) for a in agents] + list(extra)
    rows += [["汇总值", 1, 1, 1, 1, 1, "￥1.00", 1, 1, "", "", ""], ["平均值", 1, 1, 1, 1, 1, "￥1.00", 1, 1, "", "", ""]]
    path = write_export(folder / name, rows=rows, header=HEADER)
    return [("exports", (name, path.read_bytes(), XLSX))]


@pytest.fixture()
def sup(tmp_path, tmp_path_factory):
    made = world(tmp_path / "w", tmp_path_factory.getbasetemp() / "template")
    app = create_app(made.db_path, today=lambda: made.today, out_root=tmp_path / "out")
    client = TestClient(app)
    assert login(client, "sup1").status_code == 303
    return made, app, client


def preview(client, files, **fields):
    return client.post(f"{M}/imports", data={"csrf_token": token(client, M), **fields}, files=files)


def form_token(html: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', html).group(1)


def stored(db_path, team=TEAM):
    with ledger.Ledger(db_path) as book:
        rows = book.rows("SELECT id, file_name, content FROM sheets WHERE period = ? AND team = ? ORDER BY id DESC",
                         PERIOD, team)
        return len(rows), rows[0]


def sheet_cells(content: bytes, *refs):
    sheet = openpyxl.load_workbook(io.BytesIO(content))["填报表"]
    return [sheet[ref].value for ref in refs]


# ------------------------------------------------------------------ the page offers it
def test_the_upload_page_offers_the_import_to_the_supervisor_only(sup, tmp_path):
    made, app, client = sup
    page = client.get(M).text
    assert 'action="/months/2026-09/imports"' in page and 'name="exports"' in page and "multiple" in page
    assert "从平台导入" in page
    assert "Import from the platform" in client.get(f"{M}?lang=en").text
    for name in ("hr", "manager"):
        other = TestClient(app)
        assert login(other, name).status_code == 303
        assert "/imports" not in other.get(M).text


# ------------------------------------------------------------------ preview, then apply
def test_preview_shows_who_gets_what_and_writes_nothing_then_apply_fills_the_teams_sheet(sup, tmp_path):
    made, _, client = sup
    before, _ = stored(made.db_path)
    agents = team_rows()
    files = exports(tmp_path, agents[:8])
    rest = [["客服绩效-业绩分析-汇总分析"], ["统计时间:2026-09-01 ~ 2026-09-30"],
            ["客服昵称", "询单人数", "销售人数", "客服销售额", "订单量", "有效接待人数"]]
    rest += [[f"小店:{a['姓名']}", f"{int(a['访问量(询单人数)']):,}", a["成交量(成交人数)"],
              f"￥{Decimal(a['实际销售额']):,.2f}", a["个人订单量"], a["咨询应答量"]] for a in agents[8:]]
    rest.append(["均值", "1", "1", "", "", ""])
    csv_path = write_csv(tmp_path / CSV_NAME, rest, encoding="gbk")
    files.append(("exports", (CSV_NAME, csv_path.read_bytes(), "text/csv")))
    files.append(("sheet", ("填报表-2026-09.xlsx", workbook(tmp_path), XLSX)))

    response = preview(client, files)
    assert response.status_code == 200, response.text
    page = response.text
    assert f"导入预览:{TEAM} · {PERIOD}" in page
    assert "这是预览:将为 13 名客服填入 65 个单元格,目前尚未写入任何内容。" in page
    assert f"<td>{XLSX_NAME}</td><td>千牛 客服绩效-业绩分析-汇总分析</td><td class=\"num\">8</td>" in page
    assert f"<td>{CSV_NAME}</td><td>千牛 客服绩效-业绩分析-汇总分析</td><td class=\"num\">5</td>" in page
    # which export row matched which agent, with its cell, and the value to fill
    first = agents[0]
    assert f"小店:{first['姓名']}<br><small class=\"cellref\">[{XLSX_NAME}]Sheet1!A5</small>" in page
    assert f"小店:{agents[8]['姓名']}<br><small class=\"cellref\">{CSV_NAME}!A4</small>" in page
    assert ">145029.62</td>" in page and "将填入的数据(13 名客服)" in page
    assert "所有要填入的单元格目前都是空的。" in page
    assert "退单量</strong>:导出只有成功退款金额(钱数),没有退单笔数" in page
    assert "填入后的填报表通过检查,可以保存为本组的填报表。" in page
    assert "<script" not in page and "style=" not in page        # the CSP holds on the preview too
    assert stored(made.db_path)[0] == before          # a preview stores nothing

    response = client.post(f"{M}/imports/apply", data={"csrf_token": token(client, M), "token": form_token(page)})
    assert response.status_code == 200
    assert "已导入:13 名客服的 65 个单元格,售前一组 的填报表已更新。" in response.text
    count, latest = stored(made.db_path)
    assert count == before + 1 and latest["file_name"] == "填报表-2026-09.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(latest["content"]))["填报表"]
    header = [cell.value for cell in book[1]]
    by_id = {book.cell(r, 1).value: r for r in range(2, book.max_row + 1)}
    for agent in agents:
        row = by_id[agent["工号"]]
        for name in IMPORTED:
            assert Decimal(str(book.cell(row, header.index(name) + 1).value)) == Decimal(agent[name]), (agent, name)
    sales = book.cell(by_id[first["工号"]], header.index("实际销售额") + 1)
    assert sales.comment.text.startswith("由 kpi 导入") and f"[{XLSX_NAME}]Sheet1!G5" in sales.comment.text
    assert sales.protection.locked
    # the staged preview is gone once applied
    again = client.post(f"{M}/imports/apply", data={"csrf_token": token(client, M), "token": form_token(page)})
    assert again.status_code == 409 and "已失效" in again.text
    with ledger.Ledger(made.db_path) as book_:
        assert book_.rows("SELECT action FROM audit ORDER BY id DESC LIMIT 1")[0]["action"] == "import"

    # a newer export over the stored sheet: the cell that changes, old → new, then stored
    newer = exports(tmp_path, agents, name="客服绩效-业绩分析-汇总分析_20260901_20260930_1800.xlsx",
                    sales={first["工号"]: "146000"})
    page = preview(client, newer).text
    assert "填入本组已上传的最新填报表 填报表-2026-09.xlsx。" in page
    assert "将改变的单元格(1 个)" in page
    assert (f'<td class="cell">填报表!{chr(ord("A") + header.index("实际销售额"))}2</td><td>{first["工号"]}</td>'
            f"<td>实际销售额</td><td class=\"num\">145029.62</td><td class=\"num\">146000</td>") in page
    response = client.post(f"{M}/imports/apply", data={"csrf_token": token(client, M), "token": form_token(page)})
    assert response.status_code == 200
    assert sheet_cells(stored(made.db_path)[1]["content"], f"{chr(ord('A') + header.index('实际销售额'))}2") == [146000]


def test_unmatched_rows_and_agents_without_a_row_are_listed_and_an_unfinished_sheet_is_not_stored(sup, tmp_path):
    made, _, client = sup
    before, _ = stored(made.db_path)
    agents = team_rows()
    trainee = ["小店:实习生小赵", 5, 5, 20, 1, 1, "￥1,000.00", 1, 1, "￥0.00", "5%", "30"]
    files = exports(tmp_path, agents[1:], extra=[trainee])
    files.append(("sheet", ("填报表-2026-09.xlsx", workbook(tmp_path), XLSX)))
    page = preview(client, files).text
    assert "没有匹配到客服的导出行(1 行,不会填入)" in page
    assert f'<td class="cell">[{XLSX_NAME}]Sheet1!A17</td><td>小店:实习生小赵</td>' in page
    assert "没有导出行的客服(1 人,单元格保持原样)" in page
    assert f"<td>{agents[0]['工号']}</td><td>{agents[0]['姓名']}</td><td>小店:{agents[0]['姓名']}</td>" in page
    # the first agent's figures are still empty: the check says so by cell, and there is no apply button
    assert "填入后的填报表仍有 5 处问题" in page and 'action="/months/2026-09/imports/apply"' not in page
    assert '<td class="cell">填报表!H2</td><td>KF1001</td><td>实际销售额</td><td></td><td>必填,不能为空</td>' in page
    # applying anyway is refused by the same check as an upload: nothing stored
    response = client.post(f"{M}/imports/apply", data={"csrf_token": token(client, M), "token": form_token(page)})
    assert response.status_code == 422 and "填报表!H2" in response.text
    assert stored(made.db_path)[0] == before
    # the filled workbook can be downloaded to finish it offline
    download = client.post(f"{M}/imports/filled.xlsx", data={"csrf_token": token(client, M),
                                                             "token": form_token(page)})
    assert download.status_code == 200 and download.headers["content-type"] == XLSX
    assert sheet_cells(download.content, "H2", "H3") == [None, float(agents[1]["实际销售额"])]


def test_problems_are_listed_with_their_cells_and_nothing_is_stored(sup, tmp_path):
    made, _, client = sup
    before, _ = stored(made.db_path)
    agents = team_rows()
    late = qianniu_row(agents[1])
    late[2] = "延时统计"
    rows = [qianniu_row(agents[0]), late]
    path = write_export(tmp_path / XLSX_NAME, rows=rows, header=HEADER)
    august = "客服绩效-业绩分析-汇总分析_20260801_20260831_9.xlsx"
    other = write_export(tmp_path / august, rows=rows, header=HEADER,
                         title=("客服绩效-业绩分析-汇总分析", "统计时间:2026-08-01 ~ 2026-08-31"))
    files = [("exports", (XLSX_NAME, path.read_bytes(), XLSX)), ("exports", (august, other.read_bytes(), XLSX)),
             ("sheet", ("填报表-2026-09.xlsx", workbook(tmp_path), XLSX))]
    response = preview(client, files)
    assert response.status_code == 422
    page = response.text
    assert "导入有" in page and "没有写入任何内容" in page
    assert f'<td class="cell">[{XLSX_NAME}]Sheet1!C6</td>' in page and "延时统计" in page and "不能当作 0" in page
    assert august in page and "不是考核月 2026-09" in page
    assert stored(made.db_path)[0] == before
    with ledger.Ledger(made.db_path) as book:
        assert book.rows("SELECT action FROM audit ORDER BY id DESC LIMIT 1")[0]["action"] == "import_refused"


def test_files_that_are_not_what_they_should_be_are_refused_by_name(sup, tmp_path):
    made, _, client = sup
    before, _ = stored(made.db_path)
    roster = example_rows()
    csv_sheet = write_csv(tmp_path / "填报表.csv", roster)
    files = [("exports", ("本月客服.xlsx", workbook(tmp_path), XLSX)),
             ("sheet", ("填报表.csv", csv_sheet.read_bytes(), "text/csv"))]
    response = preview(client, files)
    assert response.status_code == 422
    rows = re.findall(r'<tr class="problem-row"><td class="cell">([^<]*)</td>.*?<td>([^<]*)</td></tr>', response.text)
    assert rows[0][0] == "本月客服.xlsx" and "不是可识别的平台导出" in rows[0][1]
    assert rows[1][0] == "填报表.csv"
    assert stored(made.db_path)[0] == before


def test_a_closed_month_takes_no_import(sup, tmp_path):
    made, app, client = sup
    hr = TestClient(app)
    assert login(hr, "hr").status_code == 303
    closed = hr.post(f"{M}/close", data={"csrf_token": token(hr, M), "reason": "截止日已到"}, follow_redirects=False)
    assert closed.status_code == 303
    assert 'action="/months/2026-09/imports"' not in client.get(M).text
    files = exports(tmp_path) + [("sheet", ("填报表-2026-09.xlsx", workbook(tmp_path), XLSX))]
    response = preview(client, files)
    assert response.status_code == 409 and "已结账" in response.text


def test_the_stored_sheet_without_accounts_is_refused_with_its_reason(sup, tmp_path):
    made, _, client = sup
    response = preview(client, exports(tmp_path))          # no workbook: the demo's stored sheet, no 旺旺账号
    assert response.status_code == 422 and "旺旺账号" in response.text


def test_english_follows_the_language_switch(sup, tmp_path):
    _, _, client = sup
    client.get(f"{M}?lang=en")
    files = exports(tmp_path) + [("sheet", ("填报表-2026-09.xlsx", workbook(tmp_path), XLSX))]
    page = preview(client, files).text
    assert f"Import preview: {TEAM} · {PERIOD}" in page and "What will be filled (13 agents)" in page
    assert "<th>Sales</th>" in page and "This is a preview: 65 cells for 13 agents would be filled" in page
    assert "Still typed by the supervisor" in page and "导入预览" not in page


# ------------------------------------------------------------------ who may
def test_only_the_supervisor_of_the_team_and_only_their_own_preview(sup, tmp_path):
    made, app, client = sup
    files = exports(tmp_path) + [("sheet", ("填报表-2026-09.xlsx", workbook(tmp_path), XLSX))]
    assert preview(client, files, team="售前二组").status_code == 404      # not their team
    page = preview(client, files).text
    other = TestClient(app)
    assert login(other, "sup2").status_code == 303
    for path in (f"{M}/imports/apply", f"{M}/imports/filled.xlsx"):
        response = other.post(path, data={"csrf_token": token(other, M), "token": form_token(page)})
        assert response.status_code == 409                                  # another's preview does not exist
    for name in ("hr", "manager", "KF1001"):
        someone = TestClient(app)
        assert login(someone, name).status_code == 303
        assert preview(someone, files).status_code == 403
    forged = client.post(f"{M}/imports", data={"csrf_token": "x" * 64}, files=files)
    assert forged.status_code == 403


def test_uploads_over_the_limit_are_refused(sup, tmp_path):
    made, _, _ = sup
    app = create_app(made.db_path, today=lambda: made.today, max_upload=20_000, out_root=tmp_path / "o")
    client = TestClient(app)
    assert login(client, "sup1").status_code == 303
    big = [("exports", (XLSX_NAME, b"PK" + b"0" * 30_000, XLSX))]
    assert preview(client, big).status_code == 413
    few = [("exports", (f"{i}-{XLSX_NAME}", b"PK", XLSX)) for i in range(12)]
    assert preview(client, few).status_code == 400                         # eleven files at most
