"""The web workspace through Starlette's test client: routes × roles × own/other, CSRF,
login throttling, sessions, security headers, uploads and the audit log."""

from __future__ import annotations

import io
import re
import warnings

import openpyxl
import pytest

from helpers import example_rows, write_csv, write_xlsx
from web_world import MISSING, OTHER_TEAM, OWN, PASSWORD, PERIOD, SAME_TEAM, csrf_of, login, token, world

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from kpi.ledger import accounts, answers, closing, db as ledger, revisions
from kpi.web import create_app, security

ROLES = {"hr": "hr", "manager": "manager", "supervisor": "sup1", "agent": OWN}


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One world for the read-only matrix: a client signed in per role, and one anonymous."""
    folder = tmp_path_factory.mktemp("web")
    made = world(folder / "w", folder / "template")
    app = create_app(made.db_path, today=lambda: made.today, out_root=folder / "out")
    clients = {"anonymous": TestClient(app)}
    for role, name in ROLES.items():
        clients[role] = TestClient(app)
        assert login(clients[role], name).status_code == 303
    return made, clients


@pytest.fixture()
def fresh(tmp_path, tmp_path_factory):
    """A world of its own, for tests that change the month."""
    made = world(tmp_path / "w", tmp_path_factory.getbasetemp() / "template")
    app = create_app(made.db_path, today=lambda: made.today, out_root=tmp_path / "out")
    return made, app


def signed_in(app, name):
    client = TestClient(app)
    assert login(client, name).status_code == 303
    return client


# ------------------------------------------------------------------ the matrix
M = f"/months/{PERIOD}"
READ_MATRIX = [
    # path, anonymous, hr, manager, supervisor (售前一组), agent (KF1001 of 售前一组)
    ("/healthz", 200, 200, 200, 200, 200),
    ("/months", 302, 200, 200, 200, 200),
    (M, 302, 200, 200, 200, 302),
    (f"{M}/agents/{OWN}", 302, 200, 200, 200, 200),
    (f"{M}/agents/{SAME_TEAM}", 302, 200, 200, 200, 404),
    (f"{M}/agents/{OTHER_TEAM}", 302, 200, 200, 404, 404),
    (f"{M}/agents/{MISSING}", 302, 404, 404, 404, 404),
    (f"{M}/agents/{OWN}/scorecard.xlsx", 302, 200, 200, 200, 200),
    (f"{M}/agents/{SAME_TEAM}/scorecard.xlsx", 302, 200, 200, 200, 404),
    (f"{M}/agents/{OTHER_TEAM}/scorecard.xlsx", 302, 200, 200, 404, 404),
    (f"{M}/agents/{MISSING}/scorecard.xlsx", 302, 404, 404, 404, 404),
    (f"{M}/payroll.xlsx", 302, 200, 403, 403, 403),
    (f"{M}/payroll.csv", 302, 200, 403, 403, 403),
    ("/users", 302, 200, 403, 403, 403),
    ("/months/2026-13", 302, 404, 404, 404, 404),
    ("/account/password", 302, 200, 200, 200, 200),
    (f"{M}/imports", 302, 403, 403, 303, 403),      # the import is a POST; a GET goes back to the month
]


@pytest.mark.parametrize("path,anonymous,hr,manager,supervisor,agent", READ_MATRIX)
def test_every_page_answers_every_role_as_designed(shared, path, anonymous, hr, manager, supervisor, agent):
    _, clients = shared
    expected = {"anonymous": anonymous, "hr": hr, "manager": manager, "supervisor": supervisor, "agent": agent}
    for who, status in expected.items():
        response = clients[who].get(path, follow_redirects=False)
        assert response.status_code == status, (who, path, response.status_code)
        if status == 302 and who == "anonymous":
            assert response.headers["location"].startswith("/login?next=")


POST_MATRIX = [
    # path, form, hr, manager, supervisor, agent: only refusals and harmless answers here
    (f"{M}/agents/{OWN}/answer", {"answer": "confirm"}, 403, 403, 403, 303),
    (f"{M}/agents/{SAME_TEAM}/answer", {"answer": "confirm"}, 403, 403, 403, 404),
    (f"{M}/agents/{OTHER_TEAM}/answer", {"answer": "confirm"}, 403, 403, 403, 404),
    (f"{M}/agents/{MISSING}/answer", {"answer": "confirm"}, 403, 403, 403, 404),
    (f"{M}/agents/{OTHER_TEAM}/objection", {"decision": "reject", "reason": "x"}, 403, 409, 403, 403),
    (f"{M}/agents/{MISSING}/objection", {"decision": "reject", "reason": "x"}, 403, 404, 403, 403),
    (f"{M}/agents/{MISSING}/level", {"change": "0"}, 404, 403, 403, 403),
    (f"{M}/close", {}, None, 403, 403, 403),
    (f"{M}/reopen", {"reason": "x"}, None, 403, 403, 403),
    (f"{M}/score", {}, 403, None, None, 403),
    (f"{M}/sheets", {}, 403, 403, None, 403),
    (f"{M}/imports", {}, 403, 403, 400, 403),
    (f"{M}/imports/apply", {"token": "a" * 32}, 403, 403, 409, 403),
    (f"{M}/imports/filled.xlsx", {"token": "a" * 32}, 403, 403, 409, 403),
    ("/users", {"name": "x", "role": "hr"}, None, 403, 403, 403),
    (f"/users/{OWN}/disable", {}, None, 403, 403, 403),
    (f"/users/{OWN}/reset", {}, None, 403, 403, 403),
]


@pytest.mark.parametrize("path,form,hr,manager,supervisor,agent", POST_MATRIX)
def test_every_action_answers_every_role_as_designed(shared, path, form, hr, manager, supervisor, agent):
    """None: allowed, and changes the month: tested on its own world below."""
    _, clients = shared
    expected = {"hr": hr, "manager": manager, "supervisor": supervisor, "agent": agent}
    for who, status in expected.items():
        if status is None:
            continue
        client = clients[who]
        response = client.post(path, data={**form, "csrf_token": token(client)}, follow_redirects=False)
        assert response.status_code == status, (who, path, response.status_code)
    anonymous = clients["anonymous"]
    response = anonymous.post(path, data={**form, "csrf_token": token(anonymous, "/login")}, follow_redirects=False)
    assert response.status_code == 403


def test_another_agents_page_looks_exactly_like_a_missing_one(shared):
    _, clients = shared
    other = clients["agent"].get(f"{M}/agents/{SAME_TEAM}")
    missing = clients["agent"].get(f"{M}/agents/{MISSING}")
    assert other.status_code == missing.status_code == 404
    assert other.text.replace(SAME_TEAM, MISSING) == missing.text  # the id appears only in the page's own URL
    assert "李娜" not in other.text


# ------------------------------------------------------------------ headers
def test_every_response_carries_the_security_headers(shared):
    _, clients = shared
    for who, path in [("anonymous", "/login"), ("anonymous", "/healthz"), ("hr", M), ("agent", f"{M}/agents/{OWN}"),
                      ("hr", f"{M}/payroll.csv"), ("agent", f"{M}/agents/{SAME_TEAM}"), ("hr", "/static/kpi.css")]:
        headers = clients[who].get(path).headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        if not path.startswith("/static/"):
            assert headers["cache-control"] == "no-store", path


def test_pages_hold_no_inline_script_or_style(shared):
    _, clients = shared
    for who, path in [("hr", M), ("agent", f"{M}/agents/{OWN}"), ("anonymous", "/login"), ("hr", "/users")]:
        html = clients[who].get(path).text.lower()
        assert "<script" not in html and "style=" not in html and "<style" not in html and "onclick" not in html


def test_session_cookie_is_httponly_lax_and_secure_when_asked(fresh):
    made, _ = fresh
    for secure in (False, True):
        app = create_app(made.db_path, today=lambda: made.today, secure_cookies=secure)
        client = TestClient(app, base_url="https://testserver")
        response = login(client, "hr")
        cookie = next(v for k, v in response.headers.multi_items()
                      if k == "set-cookie" and v.startswith("kpi_session="))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert ("Secure" in cookie) is secure


# ------------------------------------------------------------------ CSRF
def test_a_state_change_without_or_with_a_wrong_csrf_token_is_403(shared):
    _, clients = shared
    client = clients["agent"]
    path = f"{M}/agents/{OWN}/answer"
    assert client.post(path, data={"answer": "confirm"}, follow_redirects=False).status_code == 403
    assert client.post(path, data={"answer": "confirm", "csrf_token": "0" * 64},
                       follow_redirects=False).status_code == 403
    other_browser = clients["hr"]
    assert client.post(path, data={"answer": "confirm", "csrf_token": token(other_browser)},
                       follow_redirects=False).status_code == 403
    assert client.post("/logout", data={}, follow_redirects=False).status_code == 403


def test_login_itself_needs_the_csrf_token(fresh):
    _, app = fresh
    client = TestClient(app)
    client.get("/login")
    response = client.post("/login", data={"username": "hr", "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 403 and "kpi_session" not in response.headers.get("set-cookie", "")


def test_the_csrf_check_is_one_small_function():
    secret = b"k" * 32
    cookie = security.new_csrf_cookie()
    good = security.csrf_token(secret, cookie)
    assert security.csrf_ok(secret, cookie, good)
    assert not security.csrf_ok(secret, cookie, None)
    assert not security.csrf_ok(secret, None, good)
    assert not security.csrf_ok(secret, cookie, good[:-1] + ("0" if good[-1] != "0" else "1"))
    assert not security.csrf_ok(b"x" * 32, cookie, good)
    assert not security.csrf_ok(secret, security.new_csrf_cookie(), good)


# ------------------------------------------------------------------ login, throttling, sessions
def test_five_failures_lock_the_name_for_fifteen_minutes_and_are_audited(fresh):
    made, app = fresh
    client = TestClient(app)
    for _ in range(4):
        assert login(client, "hr", "wrong-password").status_code == 401
    assert login(client, "hr", "wrong-password").status_code == 429
    locked = login(client, "hr")  # even the right password, while locked
    assert locked.status_code == 429 and "15" in locked.text
    assert login(client, "manager").status_code == 303  # another name is not locked
    with ledger.Ledger(made.db_path) as book:
        actions = [r["action"] for r in book.rows("SELECT action FROM audit WHERE detail LIKE '%\"hr\"%' "
                                                  "AND action LIKE 'login%' ORDER BY id")]
        clients = {r["client"] for r in book.rows("SELECT client FROM audit WHERE action = 'login_failed'")}
        assert actions == ["login_failed"] * 5 + ["login_locked", "login_locked"]
        assert clients == {"testclient"}
        # 15 minutes after the fifth failure the name is free again
        last = book.rows("SELECT MAX(at) AS at FROM login_failures WHERE name = 'hr'")[0]["at"]
        assert accounts.locked_until(book, "hr", "testclient", last + 1) == pytest.approx(last + 900)
        assert accounts.locked_until(book, "hr", "testclient", last + 901) == 0


@pytest.mark.parametrize("typed", [OWN.lower(), OWN.capitalize().replace("F", "f"), "ＫＦ１００１", f" {OWN}\u200b "])
def test_an_agent_signs_in_with_their_id_however_the_keyboard_types_it(fresh, typed):
    """A phone capitalises or lowers the first letter, an input method in full-width mode types
    ＫＦ１００１: the same account, as the same agent id is the same agent in the sheet."""
    made, app = fresh
    client = TestClient(app)
    assert login(client, typed).status_code == 303
    assert client.get("/months").status_code == 200
    with ledger.Ledger(made.db_path) as book:
        assert book.rows("SELECT user FROM sessions")[-1]["user"] == OWN


def test_failures_count_together_however_the_name_is_typed(fresh):
    _, app = fresh
    client = TestClient(app)
    for typed in ("KF1001", "kf1001", "ＫＦ１００１", "Kf1001"):
        assert login(client, typed, "wrong-password").status_code == 401
    assert login(client, "kF1001", "wrong-password").status_code == 429


def test_an_account_whose_name_differs_only_by_case_or_width_is_refused(fresh):
    made, _ = fresh
    with ledger.Ledger(made.db_path) as book:
        for alike in ("kf1001", "ＫＦ１００１"):
            with pytest.raises(accounts.AccountError) as refused:
                accounts.add(book, alike, "agent", PASSWORD)
            assert refused.value.code == "account_exists" and refused.value.params["name"] == OWN


def test_hr_adding_a_supervisor_of_a_team_no_month_knows_is_told(fresh):
    _, app = fresh
    hr = signed_in(app, "hr")
    page = hr.post("/users", data={"name": "sup9", "role": "supervisor", "teams": "售前一组，售前1组",
                                   "csrf_token": token(hr, "/users")})
    assert page.status_code == 200 and "sup9" in page.text
    assert '<p class="warning" role="status">提醒:组别“售前1组”不在台账的任何月份中' in page.text
    assert "组别“售前一组”" not in page.text


@pytest.mark.parametrize("typed", [PERIOD, "2026-9", "2026年9月", " 2026/09 ", "202609", "２０２６-０９"])
def test_the_month_box_opens_the_month_however_it_is_typed(shared, typed):
    _, clients = shared
    response = clients["manager"].get("/months", params={"period": typed}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/months/{PERIOD}"


@pytest.mark.parametrize("typed", ["2026-13", "九月", "<script>"])
def test_a_month_box_that_names_no_month_says_so(shared, typed):
    _, clients = shared
    response = clients["manager"].get("/months", params={"period": typed}, follow_redirects=False)
    assert response.status_code == 400 and "期间应为 YYYY-MM 格式" in response.text and "<script>" not in response.text


def test_times_are_shown_in_beijing_and_level_choices_in_words(shared):
    """The ledger keeps the server's time with its offset; people read Beijing time, and a
    level decision as 升2级 … 辞退 (the command line's tokens +2 … dismiss are not words)."""
    from kpi.web import pages
    assert pages.when("2026-10-12T17:30:05+00:00") == "2026-10-13 01:30"
    assert pages.when("2026-10-12T09:30:00+08:00") == "2026-10-12 09:30" and pages.when("") == ""
    _, clients = shared
    page = clients["hr"].get(M).text
    options = re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', page)
    assert options and all(value != words for value, words in options)
    assert ("dismiss", "辞退") in options and ("+2", "升2级") in options
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", re.sub(r"<[^>]+>", "", page))


def test_an_agent_cannot_choose_their_id_as_their_password(fresh):
    _, app = fresh
    client = signed_in(app, OWN)
    page = client.post("/account/password", data={"old_password": PASSWORD, "new_password": f"{OWN}-2026",
                                                  "new_password2": f"{OWN}-2026", "csrf_token": token(client)})
    assert page.status_code == 400 and "密码不能包含账号名或工号" in page.text


def test_unknown_name_and_wrong_password_get_the_same_answer(fresh):
    _, app = fresh
    client = TestClient(app)
    wrong = login(client, "hr", "not-the-password")
    unknown = login(client, "nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    alert = '<p class="problem" role="alert">账号或密码不正确。</p>'
    assert alert in wrong.text and alert in unknown.text


def test_sessions_end_when_idle_and_when_too_old(fresh):
    made, _ = fresh
    with ledger.Ledger(made.db_path) as book:
        session = accounts.open_session(book, "hr", "127.0.0.1", at=1000.0)
        assert accounts.session_user(book, session, idle=1800, absolute=43200, at=1000.0 + 1799).name == "hr"
        assert accounts.session_user(book, session, idle=1800, absolute=43200, at=1000.0 + 1799 + 1801) is None
        assert accounts.session_user(book, session, idle=1800, absolute=43200, at=1000.0 + 1) is None  # removed
        young = accounts.open_session(book, "hr", "127.0.0.1", at=1000.0)
        for step in range(1, 29):  # used every 25 minutes: never idle, but 12 hours is the end
            assert accounts.session_user(book, young, 1800, 43200, at=1000.0 + step * 1500) is not None
        assert accounts.session_user(book, young, 1800, 43200, at=1000.0 + 43201) is None


def test_logout_ends_the_session(fresh):
    _, app = fresh
    client = signed_in(app, "hr")
    response = client.post("/logout", data={"csrf_token": token(client)}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get(M, follow_redirects=False).status_code == 302


def test_a_disabled_account_loses_its_session_and_cannot_log_in(fresh):
    made, app = fresh
    agent = signed_in(app, OWN)
    hr = signed_in(app, "hr")
    assert hr.post(f"/users/{OWN}/disable", data={"csrf_token": token(hr)}, follow_redirects=False).status_code == 303
    assert agent.get(f"{M}/agents/{OWN}", follow_redirects=False).status_code == 302
    assert login(TestClient(app), OWN).status_code == 401


def test_a_new_account_must_change_its_password_first(fresh):
    made, app = fresh
    hr = signed_in(app, "hr")
    page = hr.post("/users", data={"name": "lin", "role": "supervisor", "teams": "售前二组", "csrf_token": token(hr)})
    assert page.status_code == 200
    password = page.text.split("lin 的初始密码:")[1].split("(")[0]
    client = TestClient(app)
    first = login(client, "lin", password)
    assert first.headers["location"] == "/account/password"
    assert client.get(M, follow_redirects=False).headers["location"] == "/account/password"
    form = {"old_password": password, "new_password": "a-new-secret", "new_password2": "a-new-secret",
            "csrf_token": token(client, "/account/password")}
    assert client.post("/account/password", data=form, follow_redirects=False).status_code == 303
    page = client.get(M)
    assert page.status_code == 200 and "售前二组" in page.text and "售前一组" not in page.text


def test_language_follows_query_then_cookie(shared):
    _, clients = shared
    client = clients["manager"]
    assert "绩效考核" in client.get(M).text
    english = client.get(M + "?lang=en")
    assert "performance review" in english.text and "kpi_lang=en" in english.headers["set-cookie"]
    assert "performance review" in client.get(M).text
    assert "绩效考核" in client.get(M + "?lang=zh").text



def test_the_language_chosen_is_the_users_setting_in_a_new_browser(fresh):
    _, app = fresh
    first = signed_in(app, "manager")
    assert "performance review" in first.get(M + "?lang=en").text
    assert "performance review" in signed_in(app, "manager").get(M).text  # no cookie there: the account's setting
    assert "绩效考核" in signed_in(app, "hr").get(M).text


# ------------------------------------------------------------------ the month's work
def sheet_rows(team: str, fix=None) -> list[list[str]]:
    rows = example_rows()
    kept = [rows[0]] + [row for row in rows[1:] if row[2] == team]
    if fix:
        fix(kept)
    return kept


def test_supervisor_upload_shows_the_cell_and_stores_nothing_then_scores(fresh, tmp_path):
    made, app = fresh
    client = signed_in(app, "sup1")
    header = example_rows()[0]
    column = header.index(next(h for h in header if "销售额" in h and "上月" not in h))

    def mistake(rows):
        rows[3][column] = "abc"
    bad = write_xlsx(tmp_path / "bad.xlsx", sheet_rows("售前一组", mistake))
    with ledger.Ledger(made.db_path) as book:
        before = book.rows("SELECT COUNT(*) AS n FROM sheets")[0]["n"]
    response = client.post(f"{M}/sheets", data={"csrf_token": token(client, M)},
                           files={"sheet": ("bad.xlsx", bad.read_bytes(), "application/octet-stream")})
    assert response.status_code == 422
    cell = f"{chr(ord('A') + column)}4"
    assert f'<td class="cell">填报表!{cell}</td>' in response.text and "abc" in response.text
    with ledger.Ledger(made.db_path) as book:
        assert book.rows("SELECT COUNT(*) AS n FROM sheets")[0]["n"] == before
        assert book.rows("SELECT action FROM audit ORDER BY id DESC LIMIT 1")[0]["action"] == "upload_refused"

    def better(rows):
        rows[3][column] = "99999.5"
    good = write_csv(tmp_path / "good.csv", sheet_rows("售前一组", better))
    response = client.post(f"{M}/sheets", data={"csrf_token": token(client, M)},
                           files={"sheet": ("good.csv", good.read_bytes(), "text/csv")})
    assert response.status_code == 200 and "售前一组" in response.text
    response = client.post(f"{M}/score", data={"csrf_token": token(client, M)}, follow_redirects=False)
    assert response.status_code == 303
    with ledger.Ledger(made.db_path) as book:
        latest = revisions.latest_revision(book, PERIOD)
        assert latest["revision"] == 2 and latest["scored_by"] == "sup1"
        stored = revisions.results_of(book, latest["id"])
        assert len(stored) == 25  # 售前二组 still from its own latest sheet
        agent = rows_agent = sheet_rows("售前一组")[3][0]
        assert stored[agent]["inputs"]["values"]["sales_actual"] == "99999.5"
        audit = book.rows("SELECT who, client FROM audit WHERE action IN ('upload', 'score') ORDER BY id DESC LIMIT 2")
        assert {(r["who"], r["client"]) for r in audit} == {("sup1", "testclient")}
        assert rows_agent == agent


def test_a_supervisor_cannot_upload_another_teams_sheet(fresh, tmp_path):
    made, app = fresh
    client = signed_in(app, "sup1")
    other = write_csv(tmp_path / "other.csv", sheet_rows("售前二组"))
    response = client.post(f"{M}/sheets", data={"csrf_token": token(client, M)},
                           files={"sheet": ("other.csv", other.read_bytes(), "text/csv")})
    assert response.status_code == 422 and "不属于你负责的组" in response.text


def test_uploads_over_the_limit_are_refused_before_reading(fresh, tmp_path):
    made, _ = fresh
    app = create_app(made.db_path, today=lambda: made.today, max_upload=50_000)
    client = signed_in(app, "sup1")
    response = client.post(f"{M}/sheets", data={"csrf_token": token(client, M)},
                           files={"sheet": ("big.csv", b"x" * 60_000, "text/csv")})
    assert response.status_code == 413
    # a page in the user's words, with the limit and the way back, not a line of plain text
    assert response.headers["content-type"].startswith("text/html")
    assert "上传的内容超过 49 KB 的上限,什么也没有保存" in response.text
    assert f'<a href="{M}">返回本月</a>' in response.text and f'href="{M}?lang=en"' in response.text


@pytest.mark.parametrize("limit, size", [(50_000, 40_000), (50_000, 60_000)])
def test_a_file_over_the_limit_in_a_body_that_fits_says_the_same(fresh, limit, size):
    """Whether the declared length or the file read tells (413 from the guard or the form)."""
    made, _ = fresh
    app = create_app(made.db_path, today=lambda: made.today, max_upload=limit)
    client = signed_in(app, "sup1")
    response = client.post(f"{M}/sheets?lang=en", data={"csrf_token": token(client, M)},
                           files={"sheet": ("big.csv", b"x" * size, "text/csv")})
    if size < limit:
        assert response.status_code == 422
    else:
        assert response.status_code == 413 and "The upload is over the" in response.text


def test_after_a_form_is_posted_the_language_link_leads_to_a_page_that_answers(fresh, tmp_path):
    """The month shown after an upload has the address of the upload (POST only): its language
    link goes to the month itself (it went to …/sheets?lang=en, a 405)."""
    made, app = fresh
    client = signed_in(app, "sup1")
    other = write_csv(tmp_path / "other.csv", sheet_rows("售前二组"))
    shown = client.post(f"{M}/sheets", data={"csrf_token": token(client, M)},
                        files={"sheet": ("other.csv", other.read_bytes(), "text/csv")})
    link = re.search(r'<a href="([^"]+)" class="lang">', shown.text).group(1)
    assert link == f"{M}?lang=en"
    assert client.get(link).status_code == 200
    refused = client.post(f"{M}/sheets", data={"csrf_token": "0" * 64}, files={"sheet": ("a.csv", b"x", "text/csv")})
    assert refused.status_code == 403
    assert client.get(re.search(r'<a href="([^"]+)" class="lang">', refused.text).group(1)).status_code == 200


@pytest.mark.parametrize("path, page", [
    (f"{M}/sheets", M), (f"{M}/score", M), (f"{M}/close", M), (f"{M}/imports/apply", f"{M}/imports"),
    (f"{M}/agents/{OWN}/answer", f"{M}/agents/{OWN}"), (f"{M}/agents/KF%231/level", f"{M}/agents/KF%231"),
    ("/users/KF1001/reset", "/users"), ("/logout", "/months"),
])
def test_an_address_that_takes_only_forms_opened_as_a_page_leads_to_the_page(shared, path, page):
    """The address bar after an upload shows …/sheets; opened again later (a bookmark, a
    shared link) it leads to the month, not to "Method Not Allowed"."""
    _, clients = shared
    response = clients["supervisor"].get(path, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == page


@pytest.mark.parametrize("method, path, status", [("GET", "/nope", 404), ("GET", "/static/nope.css", 404),
                                                  ("PUT", "/months", 405), ("DELETE", f"{M}/sheets", 405)])
def test_what_no_route_answers_gets_the_error_page_in_the_user_s_words(shared, method, path, status):
    _, clients = shared
    response = clients["supervisor"].request(method, path)
    assert response.status_code == status and response.headers["content-type"].startswith("text/html")
    assert ("没有这个页面" if status == 404 else "此地址不接受这种请求") in response.text
    assert status == 404 or "GET" in response.headers["allow"] or "POST" in response.headers["allow"]
    assert response.headers["x-frame-options"] == "DENY"


def test_a_zip_bomb_is_refused_by_the_same_reader_as_the_cli(fresh, tmp_path):
    import zipfile
    made, app = fresh
    client = signed_in(app, "sup1")
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (60 << 20))
    response = client.post(f"{M}/sheets", data={"csrf_token": token(client, M)},
                           files={"sheet": ("bomb.xlsx", bomb.read_bytes(), "application/octet-stream")})
    assert response.status_code == 422 and '<td class="cell">' in response.text


def test_agent_answers_then_the_manager_decides_and_hr_closes(fresh):
    made, app = fresh
    agent = signed_in(app, OWN)
    page = agent.get(f"{M}/agents/{OWN}")
    assert "王芳" in page.text and "销售额完成率" in page.text
    form = {"answer": "object", "reason": "夜班咨询量没算上", "csrf_token": csrf_of(page.text)}
    assert agent.post(f"{M}/agents/{OWN}/answer", data=form, follow_redirects=False).status_code == 303
    assert "夜班咨询量没算上" in agent.get(f"{M}/agents/{OWN}").text
    manager = signed_in(app, "manager")
    form = {"decision": "reject", "reason": "已核对,统计无误", "csrf_token": token(manager, M)}
    assert manager.post(f"{M}/agents/{OWN}/objection", data=form, follow_redirects=False).status_code == 303
    hr = signed_in(app, "hr")
    with ledger.Ledger(made.db_path) as book:
        state = next(s for s in answers.status(book, PERIOD, made.today, made.today) if s.agent_id == OWN)
        assert state.decision == "reject" and state.decided_by == "manager"
        pending = [r for r in revisions.results_of(book, revisions.latest_revision(book, PERIOD)["id"]).values()
                   if r["level_change"] != "0"]
    for row in pending:
        change = closing.ALLOWED_DECISIONS[row["level_change"]][0]
        response = hr.post(f"{M}/agents/{row['agent_id']}/level", data={"change": change, "csrf_token": token(hr, M)},
                           follow_redirects=False)
        assert response.status_code == 303, response.text
    response = hr.post(f"{M}/close", data={"reason": "", "csrf_token": token(hr, M)}, follow_redirects=False)
    if response.status_code == 409:  # other agents never answered: HR closes with a reason
        response = hr.post(f"{M}/close", data={"reason": "截止日已过", "csrf_token": token(hr, M)},
                           follow_redirects=False)
    assert response.status_code == 303
    payroll = hr.get(f"{M}/payroll.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(payroll.content)).active
    assert [c.value for c in sheet[3]][-3:] == ["确认状态", "下月级别", "备注"] or sheet.max_column >= 12
    with ledger.Ledger(made.db_path) as book:
        assert revisions.month_status(book, PERIOD) == "closed"
        who = {r["action"]: r["who"] for r in book.rows("SELECT action, who FROM audit")}
        assert who["object"] == OWN and who["objection_reject"] == "manager" and who["close"] == "hr"
        assert who["level"] == "hr" and who["download_payroll"] == "hr"
    refused = agent.post(f"{M}/agents/{OWN}/answer", data={"answer": "confirm", "csrf_token": token(agent)},
                         follow_redirects=False)
    assert refused.status_code == 409
    form = {"reason": "", "csrf_token": token(hr, M)}
    assert hr.post(f"{M}/reopen", data=form, follow_redirects=False).status_code == 409
    form["reason"] = "补发奖金"
    assert hr.post(f"{M}/reopen", data=form, follow_redirects=False).status_code == 303


def test_answers_close_after_the_deadline(fresh):
    import datetime
    made, _ = fresh
    app = create_app(made.db_path, today=lambda: made.today + datetime.timedelta(days=1))
    agent = signed_in(app, OWN)
    page = agent.get(f"{M}/agents/{OWN}")
    assert 'value="confirm"' not in page.text
    response = agent.post(f"{M}/agents/{OWN}/answer", data={"answer": "confirm", "csrf_token": csrf_of(page.text)},
                          follow_redirects=False)
    assert response.status_code == 409


def test_the_agent_card_shows_items_pay_level_and_timeline(shared):
    _, clients = shared
    page = clients["agent"].get(f"{M}/agents/{OWN}").text
    for words in ("销售额完成率", "应答时效", "级别工资", "绩效工资", "级别调整建议", "考核时间表", "scorecard.xlsx"):
        assert words in page, words
    assert "KF1002" not in page and "李娜" not in page
    card = clients["agent"].get(f"{M}/agents/{OWN}/scorecard.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(card.content)).active
    texts = {str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None}
    assert OWN in texts and "王芳" in texts and "李娜" not in texts


def test_the_team_summary_has_svg_charts_and_only_the_supervisors_team(shared):
    _, clients = shared
    page = clients["supervisor"].get(M).text
    assert page.count("<svg") == 3 and "KF1001" in page and "KF1014" not in page
    everyone = clients["manager"].get(M).text
    assert everyone.count("<svg") == 6 and "KF1014" in everyone


def test_a_sheet_of_another_month_is_refused(fresh, tmp_path):
    from kpi.io import config
    from kpi.pipeline import month
    made, app = fresh
    roster = write_csv(tmp_path / "roster.csv", sheet_rows("售前一组"))
    october = tmp_path / "october.xlsx"
    month.write_template(roster, config.load(None, "2026-10"), october, [], "zh")
    client = signed_in(app, "sup1")
    response = client.post(f"{M}/sheets", data={"csrf_token": token(client, M)},
                           files={"sheet": ("october.xlsx", october.read_bytes(), "application/octet-stream")})
    assert response.status_code == 422 and "这是 2026-10 的填报表,不是 2026-09 的" in response.text
