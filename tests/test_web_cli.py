"""The command-line side of the web workspace: ``kpi user …``, ``kpi serve`` and ``kpi score``
with one sheet per team."""

from __future__ import annotations

import csv
import os
import stat

import pytest

from click.testing import CliRunner

import cli
from helpers import EXAMPLE_XLSX, example_rows, write_csv, write_xlsx
from kpi.ledger import accounts, db as ledger, revisions


def run(*args, input=None, **env):
    return CliRunner().invoke(cli.main, [str(a) for a in args], input=input,
                              env={"KPI_LANG": None, "KPI_CONFIG": None, **env})


def team_sheet(path, team, fix=None):
    rows = example_rows()
    kept = [rows[0]] + [row for row in rows[1:] if row[2] == team]
    if fix:
        fix(kept)
    return write_csv(path, kept)


def test_score_accepts_one_sheet_per_team_and_gives_the_same_results_as_one_sheet(tmp_path):
    one = run("score", EXAMPLE_XLSX, "--period", "2026-09", "--out", tmp_path / "one", "--db", tmp_path / "one.db")
    assert one.exit_code == 0, one.output
    first, second = team_sheet(tmp_path / "a.csv", "售前一组"), team_sheet(tmp_path / "b.csv", "售前二组")
    two = run("score", first, second, "--period", "2026-09", "--out", tmp_path / "two", "--db", tmp_path / "two.db")
    assert two.exit_code == 0, two.output
    assert two.output.splitlines()[:8] == one.output.splitlines()[:8]  # counts per band and the pay total
    with ledger.Ledger(tmp_path / "one.db") as a, ledger.Ledger(tmp_path / "two.db") as b:
        ra, rb = (revisions.results_of(x, revisions.latest_revision(x, "2026-09")["id"]) for x in (a, b))
        assert {k: v["fingerprint"] for k, v in ra.items()} == {k: v["fingerprint"] for k, v in rb.items()}
        assert revisions.latest_revision(b, "2026-09")["input_file"] == "a.csv, b.csv"


def test_score_refuses_a_team_or_an_agent_in_two_files(tmp_path):
    first = team_sheet(tmp_path / "a.csv", "售前一组")
    again = team_sheet(tmp_path / "again.csv", "售前一组")
    result = run("score", first, again, "--period", "2026-09", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "组别“售前一组”同时出现在 a.csv 中" in result.output
    assert "该工号同时出现在 a.csv 中" in result.output
    assert not (tmp_path / "out").exists()
    rows = example_rows()
    second_rows = [rows[0]] + [row for row in rows[1:] if row[2] == "售前二组"]
    stray = list(second_rows[1])
    stray[2] = "售前一组"
    mixed = write_xlsx(tmp_path / "mixed.xlsx", [rows[0]] + [r for r in rows[1:] if r[2] == "售前一组"] + [stray])
    result = run("score", mixed, team_sheet(tmp_path / "b.csv", "售前二组"), "--period", "2026-09",
                 "--out", tmp_path / "out2")
    assert result.exit_code == 1 and "KF1014" in result.output and "同时出现在 mixed.xlsx 中" in result.output
    assert not (tmp_path / "out2").exists()


def test_user_add_reads_the_password_from_stdin_and_hashes_it(tmp_path):
    result = run("user", "add", "lee", "--role", "supervisor", "--team", "售前一组", input="a-long-secret\n")
    assert result.exit_code == 0, result.output
    with ledger.Ledger() as book:
        stored = book.rows("SELECT password_hash, teams FROM users WHERE name = 'lee'")[0]
        assert stored["password_hash"].startswith("$argon2") and "a-long-secret" not in stored["password_hash"]
        assert accounts.login(book, "lee", "a-long-secret", "cli").teams == ("售前一组",)
        assert "a-long-secret" not in str([tuple(r) for r in book.rows("SELECT * FROM audit")])
    short = run("user", "add", "kim", "--role", "hr", input="short\n")
    assert short.exit_code == 1 and "至少需要 8 个字符" in short.output
    nobody = run("user", "add", "sam", "--role", "supervisor", input="a-long-secret\n")
    assert nobody.exit_code == 1 and "--team" in nobody.output


@pytest.mark.parametrize("name, agent_id, password, refused", [
    ("KF1001", "", "KF1001KF1001", "密码不能包含账号名或工号"),
    ("王芳", "KF1001", "kf1001-pass", "密码不能包含账号名或工号"),      # the id, compared as ids are
    ("王芳", "ＫＦ１００１", "pass-KF1001", "密码不能包含账号名或工号"),
    ("KF1001", "", "11111111", "密码不能全是同一个字符"),
    ("lee", "", "lee-a-long-secret", ""),                                # a name under 4 characters may
    ("KF1001", "", "a-long-secret", ""),
])
def test_a_password_may_not_be_the_name_it_guards(tmp_path, name, agent_id, password, refused):
    extra = ("--agent-id", agent_id) if agent_id else ()
    result = run("user", "add", name, "--role", "agent", *extra, input=password + "\n")
    assert result.exit_code == (1 if refused else 0), result.output
    assert refused in result.output


def test_user_add_remarks_a_team_or_agent_id_no_month_knows(tmp_path):
    """A misspelt team or id makes an account that sees nothing: said at once, the account made."""
    fresh = run("user", "add", "lee", "--role", "supervisor", "--team", "售前3组", input="a-long-secret\n")
    assert fresh.exit_code == 0 and "提醒" not in fresh.output   # no month yet: a new team is no news
    assert run("score", EXAMPLE_XLSX, "--period", "2026-09", "--out", tmp_path / "out").exit_code == 0
    typo = run("user", "add", "kim", "--role", "supervisor", "--team", "售前一组", "--team", "售前1组",
               input="a-long-secret\n")
    assert typo.exit_code == 0
    assert "提醒:组别“售前1组”不在台账的任何月份中(已有的组:售前一组、售前二组)" in typo.output
    assert "“售前一组”" not in typo.output
    agent = run("user", "add", "KF1099", "--role", "agent", input="a-long-secret\n")
    assert agent.exit_code == 0 and "提醒:工号 KF1099 不在台账的任何月份中" in agent.output
    wide = run("user", "add", "王芳", "--role", "agent", "--agent-id", "ＫＦ１００１", input="a-long-secret\n")
    assert wide.exit_code == 0 and "提醒" not in wide.output   # kept as the sheets keep ids: KF1001
    with ledger.Ledger() as book:
        assert accounts.get(book, "王芳").agent_id == "KF1001"


def test_user_import_list_disable_reset(tmp_path):
    assert run("score", EXAMPLE_XLSX, "--period", "2026-09", "--out", tmp_path / "out").exit_code == 0
    result = run("user", "import", "--period", "2026-09")
    assert result.exit_code == 0, result.output
    path = tmp_path / "hr-only" / "web-passwords-2026-09.csv"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["工号", "姓名", "密码"] and len(rows) == 26
    with ledger.Ledger() as book:
        user = accounts.login(book, rows[1][0], rows[1][2], "cli")
        assert user.must_change and user.role == "agent" and user.agent_id == rows[1][0]
    assert "25" in result.output and str(path.name) in result.output
    again = run("user", "import", "--period", "2026-09")
    assert again.exit_code == 0 and "0" in again.output  # nobody twice
    listed = run("user", "list")
    assert listed.exit_code == 0 and "KF1001  agent  -  待改密码" in listed.output
    assert run("user", "disable", "KF1001").exit_code == 0
    assert "KF1001  agent  -  已停用" in run("user", "list").output
    reset = run("user", "reset", "KF1001")
    assert reset.exit_code == 0
    password = reset.output.split("新密码:")[1].split("(")[0]
    with ledger.Ledger() as book:
        assert accounts.login(book, "KF1001", password, "cli").must_change
    assert run("user", "reset", "nobody").exit_code == 1


def test_serve_warns_when_bound_to_all_interfaces_without_tls(monkeypatch):
    import uvicorn
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    result = run("serve", "--host", "0.0.0.0", "--port", "8123")
    assert result.exit_code == 0, result.output
    assert "警告:正在监听所有网卡(0.0.0.0),但没有 TLS" in result.output
    assert calls == [{"host": "0.0.0.0", "port": 8123, "log_level": "warning", "proxy_headers": False,
                     "server_header": False}]
    quiet = run("serve")
    assert "警告" not in quiet.output and calls[-1]["host"] == "127.0.0.1"


def test_serve_demo_loads_the_example_month_and_prints_the_accounts(monkeypatch):
    import uvicorn
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    result = run("serve", "--demo")
    assert result.exit_code == 0, result.output
    for words in ("2026-09(25 名客服)", "demo-pass-2026", "hr ", "manager", "sup1", "sup2", "KF1001",
                  "共 25 个客服账号", "2026-10-15"):
        assert words in result.output, words
