"""The web workspace in a real browser: Playwright driving the distribution's Chromium
against a real uvicorn server on 127.0.0.1. Screenshots of every page go to
tests/screenshots/ for a reviewer to look at.

Skipped only outside CI when Chromium is missing; in CI (CI set) it always runs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from helpers import ROOT, example_rows, write_xlsx
from web_world import OWN, PASSWORD, PERIOD, served, world

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "tests" / "screenshots"

if not os.environ.get("CI") and not Path(CHROMIUM).exists():
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402


@pytest.fixture()
def server(tmp_path, tmp_path_factory):
    from kpi.web import create_app

    made = world(tmp_path / "w", tmp_path_factory.getbasetemp() / "template")
    app = create_app(made.db_path, today=lambda: made.today, out_root=tmp_path / "out")
    with served(app) as base:
        yield made, base


@pytest.fixture()
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(browser, base: str, name: str, mobile: bool = False):
    context = browser.new_context(viewport={"width": 390, "height": 844} if mobile else {"width": 1280, "height": 900},
                                  locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{base}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_a_month_in_the_browser(server, browser, tmp_path):
    made, base = server
    month = f"{base}/months/{PERIOD}"

    # the login page
    page = browser.new_page()
    page.goto(f"{base}/login")
    expect(page.locator("h1")).to_have_text("登录")
    shot(page, "01-login")
    page.close()

    # a supervisor uploads a sheet with a mistake, sees the cell, fixes it and scores
    rows = example_rows()
    team = [rows[0]] + [row for row in rows[1:] if row[2] == "售前一组"]
    column = rows[0].index(next(h for h in rows[0] if "销售额" in h and "上月" not in h))
    team[2][column] = "一万二"
    bad = write_xlsx(tmp_path / "售前一组-bad.xlsx", team)
    page = sign_in(browser, base, "sup1")
    page.goto(month)
    shot(page, "02-supervisor-month")
    page.set_input_files("input[name=sheet]", str(bad))
    page.click("form[action$='/sheets'] button")
    cell = f"填报表!{chr(ord('A') + column)}3"
    expect(page.locator("td.cell").first).to_have_text(cell)
    expect(page.locator("tr.problem-row").first).to_contain_text("一万二")
    shot(page, "03-supervisor-problems")
    team[2][column] = "120000"
    good = write_xlsx(tmp_path / "售前一组.xlsx", team)
    page.set_input_files("input[name=sheet]", str(good))
    page.click("form[action$='/sheets'] button")
    expect(page.locator("p.notice")).to_contain_text("售前一组")
    page.click("form[action$='/score'] button")
    expect(page.locator("p.meta")).to_contain_text("第 2 版")
    expect(page.locator("svg")).to_have_count(3)
    shot(page, "04-supervisor-scored")
    page.context.close()

    # an agent logs in (on a phone), reads the card, objects
    page = sign_in(browser, base, OWN, mobile=True)
    expect(page).to_have_url(f"{base}/months")
    page.click(f"text={PERIOD}")
    expect(page.locator("h1")).to_contain_text("王芳")
    expect(page.locator("table.items")).to_contain_text("销售额完成率")
    shot(page, "05-agent-card-phone")
    with page.expect_download() as card:   # the browser names it from RFC 6266's UTF-8 filename*
        page.click("a[href$='/scorecard.xlsx']")
    assert card.value.suggested_filename == f"scorecard-{PERIOD}-{OWN}-王芳.xlsx"
    page.fill("textarea[name=reason]", "夜班咨询量没有算进去")
    page.click("form:has(textarea) button[type=submit]")
    expect(page.locator("section.answer")).to_contain_text("夜班咨询量没有算进去")
    shot(page, "06-agent-objected")
    page.emulate_media(media="print")
    page.pdf(path=str(SHOTS / "06-agent-card-A4.pdf"), format="A4")  # the print stylesheet on A4
    page.context.close()

    # the manager rejects the objection
    page = sign_in(browser, base, "manager")
    page.goto(month)
    row = page.locator(f"tr:has(a:text('{OWN}'))")
    expect(row).to_contain_text("夜班咨询量没有算进去")
    row.locator("input[name=reason]").fill("已核对夜班记录,统计无误")
    row.locator("button[value=reject]").click()
    expect(page.locator(f"tr:has(a:text('{OWN}'))")).to_contain_text("驳回异议")
    shot(page, "07-manager-rejected")
    page.context.close()

    # HR opens the month from the box (Chromium's month picker sends YYYY-MM), approves level
    # changes, closes the month and downloads the payroll
    page = sign_in(browser, base, "hr")
    page.goto(f"{base}/months")
    page.fill("input[name=period]", PERIOD)
    shot(page, "16-hr-months-box")
    page.click("form[action='/months'] button")
    expect(page).to_have_url(month)
    shot(page, "08-hr-month")
    approvals = page.locator("form[action$='/level'] button")
    count = approvals.count()
    assert count > 0
    for index in range(count):  # each approval comes back to the month page
        approvals.nth(index).click()
        page.wait_for_load_state()
        expect(page.locator("h1")).to_have_text(f"{PERIOD} 绩效考核")
    expect(page.locator("small:has-text('已批准')")).to_have_count(count)
    page.fill("form[action$='/close'] input[name=reason]", "截止日已到,未答复者按未答复结账")
    page.click("form[action$='/close'] button")
    expect(page.locator("span.badge")).to_have_text("已结账")
    shot(page, "09-hr-closed")
    with page.expect_download() as download:
        page.click("text=下载工资表(xlsx)")
    saved = tmp_path / "payroll.xlsx"
    download.value.save_as(saved)
    import openpyxl
    sheet = openpyxl.load_workbook(saved).active
    ids = [sheet.cell(row, 1).value for row in range(4, sheet.max_row + 1)]
    assert OWN in ids and len([i for i in ids if i and str(i).startswith("KF")]) == 25
    page.goto(f"{month}?lang=en")
    expect(page.locator("h1")).to_have_text(f"{PERIOD} performance review")
    shot(page, "10-hr-closed-en")
    page.context.close()

    from kpi.ledger import db as ledger, revisions
    with ledger.Ledger(made.db_path) as book:
        assert revisions.month_status(book, PERIOD) == "closed"
        audit = {(r["action"], r["who"]) for r in book.rows("SELECT action, who FROM audit WHERE client = '127.0.0.1'")}
    assert {("upload", "sup1"), ("score", "sup1"), ("object", OWN), ("objection_reject", "manager"),
            ("close", "hr"), ("download_payroll", "hr"), ("login", "hr")} <= audit


def test_a_platform_import_on_the_upload_page(server, browser, tmp_path):
    """Issue 25: a supervisor imports the 千牛 exports of the month into their team's sheet."""
    from test_imports import write_export
    from test_web_imports import HEADER, XLSX_NAME, exports, qianniu_row, team_rows, workbook

    made, base = server
    month = f"{base}/months/{PERIOD}"
    agents = team_rows()
    sheet = tmp_path / "sheet"
    sheet.mkdir()
    (sheet / "填报表-2026-09.xlsx").write_bytes(workbook(sheet))
    page = sign_in(browser, base, "sup1")
    page.goto(month)
    expect(page.locator("section.import h2")).to_have_text("从平台导入(千牛 / 生意参谋导出)")

    # an export the platform has not finished counting: refused with its cell, nothing written
    late = [qianniu_row(a) for a in agents]
    late[1][2] = "延时统计"
    first = tmp_path / "first"
    first.mkdir()
    refused = write_export(first / XLSX_NAME, rows=late, header=HEADER)
    page.set_input_files("input[name=exports]", str(refused))
    page.set_input_files("section.import input[name=sheet]", str(sheet / "填报表-2026-09.xlsx"))
    page.click("form[action$='/imports'] button")
    expect(page.locator("td.cell").first).to_have_text(f"[{XLSX_NAME}]Sheet1!C6")
    expect(page.locator("tr.problem-row").first).to_contain_text("延时统计")
    shot(page, "11-supervisor-import-refused")

    # the final export, with a trainee's row: the preview, then stored as the team's sheet
    trainee = ["小店:实习生小赵", 5, 5, 20, 1, 1, "￥1,000.00", 1, 1, "￥0.00", "5%", "30"]
    second = tmp_path / "second"
    second.mkdir()
    exports(second, agents, extra=[trainee])
    page.set_input_files("input[name=exports]", str(second / XLSX_NAME))
    page.set_input_files("section.import input[name=sheet]", str(sheet / "填报表-2026-09.xlsx"))
    page.click("form[action$='/imports'] button")
    expect(page.locator("h1")).to_have_text(f"导入预览:售前一组 · {PERIOD}")
    expect(page.locator("table.import-agents tbody tr")).to_have_count(len(agents))
    expect(page.locator("tr.unmatched-row")).to_contain_text("小店:实习生小赵")
    shot(page, "12-supervisor-import-preview")
    page.click("form[action$='/imports/apply'] button")
    expect(page.locator("p.notice")).to_contain_text("已导入:13 名客服的 65 个单元格")
    shot(page, "13-supervisor-imported")

    # a newer export over the stored sheet: the one cell that changes, old → new
    third = tmp_path / "third"
    third.mkdir()
    newer = "客服绩效-业绩分析-汇总分析_20260901_20260930_1800.xlsx"
    exports(third, agents, name=newer, sales={agents[0]["工号"]: "146000"})
    page.set_input_files("input[name=exports]", str(third / newer))
    page.click("form[action$='/imports'] button")
    expect(page.locator("tr.change-row")).to_have_count(1)
    expect(page.locator("tr.change-row")).to_contain_text("146000")
    shot(page, "14-supervisor-import-changes")
    page.click("form[action$='/imports/apply'] button")
    expect(page.locator("p.notice")).to_contain_text("售前一组 的填报表已更新")
    page.click("form[action$='/score'] button")
    expect(page.locator("p.meta")).to_contain_text("第 2 版")
    page.goto(f"{month}?lang=en")                      # the same preview in English
    page.set_input_files("input[name=exports]", str(third / newer))
    page.click("form[action$='/imports'] button")
    expect(page.locator("h1")).to_have_text(f"Import preview: 售前一组 · {PERIOD}")
    expect(page.locator("section.changes")).to_have_count(0)
    shot(page, "15-supervisor-import-preview-en")
    page.context.close()

    from kpi.ledger import db as ledger, revisions
    with ledger.Ledger(made.db_path) as book:
        latest = revisions.latest_revision(book, PERIOD)
        row = revisions.results_of(book, latest["id"], agents[0]["工号"])[agents[0]["工号"]]
        audit = [r["action"] for r in book.rows("SELECT action FROM audit WHERE who = 'sup1' ORDER BY id")]
    assert str(row["inputs"]["values"]["sales_actual"]) == "146000"
    assert audit.count("import") == 2 and "import_refused" in audit


def test_a_file_over_the_limit_gets_a_page_with_the_way_back(server, browser, tmp_path):
    """Chromium shows the refusal (not a reset connection, not a line of English) and the link
    back to the month; its language link answers too."""
    _, base = server
    big = tmp_path / "售前一组.csv"
    big.write_bytes(b"x" * ((10 << 20) + 1))
    page = sign_in(browser, base, "sup1")
    page.goto(f"{base}/months/{PERIOD}")
    page.set_input_files("input[name=sheet]", str(big))
    page.click("form[action$='/sheets'] button")
    expect(page.locator("h1")).to_have_text("文件太大。")
    expect(page.locator("p.problem")).to_contain_text("10 MB")
    shot(page, "17-supervisor-too-large")
    english = page.locator("a.lang").get_attribute("href")   # the refusal's language link: the month
    page.click("text=返回本月")
    expect(page.locator("h1")).to_have_text(f"{PERIOD} 绩效考核")
    page.goto(f"{base}{english}")
    expect(page.locator("h1")).to_have_text(f"{PERIOD} performance review")
    page.context.close()
