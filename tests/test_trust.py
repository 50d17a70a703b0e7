"""Trust under attack and accident (issue 20): every card encrypted or none, hostile text inert,
blank reasons refused, answers tied to the result seen, months scored in order, and the ledger
and the output in agreement whenever kpi is killed."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import EXAMPLE_CSV, ROOT, example_rows, ok, run, write_csv, write_xlsx
from kpi.ledger import db as ledger, revisions as ledger_revisions
from kpi.pipeline import month
from kpi.io.writers import results_json, safe
from test_ledger import approve_levels   # issue 22: +2, -1 and dismissal close only once approved

OLE2 = b"\xd0\xcf\x11\xe0"


def revisions(db_path: Path) -> int:
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT COUNT(*) FROM revisions").fetchone()[0]


# ------------------------------------------------------------------ every card encrypted, or none
def passwords_file(path: Path, skip=(), first="pw-") -> Path:
    rows = [["工号", "密码"]] + [[row[0], f"{first}{row[0]}"] for row in example_rows()[1:] if row[0] not in skip]
    return write_csv(path, rows)


def test_a_password_file_lacking_agents_writes_nothing_and_names_them(tmp_path):
    listed = passwords_file(tmp_path / "pw.csv", skip=("KF1003", "KF1017"))
    result = run("score", EXAMPLE_CSV, "--period", "2026-09", "--out", "out", "--encrypt", "--passwords", listed)
    assert result.exit_code == 1
    assert "pw.csv  密码文件里没有工号 KF1003 的密码" in result.output
    assert "pw.csv  密码文件里没有工号 KF1017 的密码" in result.output
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "kpi.db").exists() or revisions(tmp_path / "kpi.db") == 0


def test_a_complete_password_file_encrypts_every_card_and_its_list_is_neutralised(tmp_path):
    listed = passwords_file(tmp_path / "pw.csv", first="=1+")
    ok("score", EXAMPLE_CSV, "--period", "2026-09", "--out", "out", "--encrypt", "--passwords", listed)
    cards = list((tmp_path / "out" / "scorecards").rglob("*.xlsx"))
    assert len(cards) == 25 and all(card.read_bytes()[:4] == OLE2 for card in cards)
    with open(tmp_path / "out" / "hr-only" / "passwords-2026-09.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[1][2] == "'=1+KF1001"


def test_cards_are_never_planned_plain_beside_encrypted_ones():
    from kpi.io import cards
    from helpers import results_of, ruleset
    results = results_of(EXAMPLE_CSV, ruleset())
    from kpi.core import calendar
    with pytest.raises(ValueError, match="no password for agent"):
        cards.plan(results, ruleset(), calendar.for_rules(ruleset()), "zh", 1, {}, Path("."),
                   {results[0].agent.agent_id: "x"})


# ------------------------------------------------------------------ hostile text
@pytest.mark.parametrize(("text", "written"), [
    ("x;=1+1", "x;'=1+1"), ("x,=1", "x,'=1"), ("x\t=1", "x\t'=1"), ("x; @SUM(1)", "x; '@SUM(1)"),
    ("x|+1", "x|'+1"), ("=1", "'=1"), ("李四", "李四"), ("a, b", "a, b"),
])
def test_csv_cells_are_inert_in_every_locales_excel(text, written):
    assert safe.csv_cell(text) == written


def test_payroll_csv_neutralises_a_name_with_another_locales_separator(tmp_path):
    rows = example_rows()
    rows[1][1] = "x;=HYPERLINK(\"http://evil\")"
    ok("score", write_csv(tmp_path / "in.csv", rows), "--period", "2026-09", "--out", "out")
    text = (tmp_path / "out" / "payroll-2026-09.csv").read_text(encoding="utf-8-sig")
    for separator in (",", ";", "\t"):           # however a locale's Excel splits the line
        for line in text.splitlines():
            for cell in line.split(separator):
                assert not cell.strip().strip('"').startswith(("=", "+", "@")), (separator, cell)


HOSTILE = "王\x1b[2J\x1b]8;;http://evil\x07点我\x1b]8;;\x07\u202egnp.exe\x9b31m"


def test_names_teams_and_reasons_print_inert_on_the_terminal(tmp_path):
    rows = example_rows()
    rows[1][1], rows[2][2] = HOSTILE, "售前\x1b[31m红组"
    ok("score", write_csv(tmp_path / "in.csv", rows), "--period", "2026-09", "--out", "out")
    ok("object", "KF1002", "--period", "2026-09", "--reason", "咨询量\x1b[8m隐藏\n  KF1003 张伟      已确认")
    outputs = [run("status", "2026-09").output, run("history", "KF1001").output,
               run("show", "KF1001", "--period", "2026-09").output]
    for text in outputs:
        assert not any(ch in text for ch in ("\x1b", "\x07", "\x9b", "\u202e")), text
    status = outputs[0]
    assert "王\\x1b[2J\\x1b]8;;http://evil\\x07点我" in status and "\\u202egnp.exe" in status
    assert "咨询量\\x1b[8m隐藏\\x0a  KF1003 张伟      已确认" in status    # a forged line stays in its line


@pytest.mark.parametrize("reason", ["", "   ", "\t\n"])
def test_blank_reasons_are_refused(tmp_path, reason):
    ok("score", EXAMPLE_CSV, "--period", "2026-09", "--out", "out")
    approve_levels()
    ok("close", "2026-09")
    refused = run("reopen", "2026-09", "--reason", reason)
    assert refused.exit_code == 1 and "原因不能为空或只有空白" in refused.output
    ok("reopen", "2026-09", "--reason", "财务发现基数有误")
    objection = run("object", "KF1002", "--period", "2026-09", "--reason", reason)
    assert objection.exit_code == 1 and "提出异议必须填写理由" in objection.output
    forced = run("close", "2026-09", "--force", "--reason", reason)
    assert forced.exit_code == 2


# ------------------------------------------------------------------ answers refer to what was seen
def test_a_confirmation_issued_during_a_rescore_never_attaches_to_the_new_result(tmp_path, monkeypatch):
    ok("score", EXAMPLE_CSV, "--period", "2026-09", "--out", "out")
    rows = example_rows()
    rows[8][13] = "400"                                       # KF1008's result changes in revision 2
    changed = write_csv(tmp_path / "changed.csv", rows)
    original = ledger.Ledger.write
    state = {"rescored": False}

    def write_after_a_rescore(self):
        if not state["rescored"]:                            # the re-score commits while confirm waits
            state["rescored"] = True
            with ledger.Ledger(self.path) as other:
                month.score(changed, _ruleset(), tmp_path / "out", "zh", other, jobs=1)
        return original(self)

    monkeypatch.setattr(ledger.Ledger, "write", write_after_a_rescore)
    refused = run("confirm", "KF1008", "--period", "2026-09")
    assert refused.exit_code == 1
    assert "工号 KF1008:答复针对的是第 1 版的结果,而结果已在第 2 版变更" in refused.output
    state["rescored"] = False
    rows[8][13] = "401"
    changed = write_csv(tmp_path / "changed.csv", rows)     # revision 3: KF1008 changes again, KF1001 not
    assert run("confirm", "KF1001", "--period", "2026-09").exit_code == 0
    monkeypatch.setattr(ledger.Ledger, "write", original)
    with ledger.Ledger() as book:
        answers = book.rows("SELECT agent_id, revision FROM answers")
        assert [(a["agent_id"], a["revision"]) for a in answers] == [("KF1001", 2)]
        assert ledger_revisions.latest_revision(book, "2026-09")["revision"] == 3


def _ruleset():
    from helpers import ruleset
    return ruleset()


def test_a_card_answer_records_the_cards_revision(tmp_path):
    import openpyxl
    ok("score", EXAMPLE_CSV, "--period", "2026-09", "--out", "out")
    card = next((tmp_path / "out" / "scorecards").rglob("KF1001-*.xlsx"))
    book = openpyxl.load_workbook(card)
    book["考核表"]["B33"] = "确认"
    book.save(tmp_path / "back.xlsx")
    rows = example_rows()
    rows[8][13] = "400"
    ok("score", write_csv(tmp_path / "changed.csv", rows), "--period", "2026-09", "--out", "out")
    ok("collect", tmp_path / "back.xlsx", "--period", "2026-09")
    with ledger.Ledger() as db:
        assert [tuple(r) for r in db.rows("SELECT agent_id, revision FROM answers")] == [("KF1001", 1)]


# ------------------------------------------------------------------ processes
def start(args, cwd, **env):
    environment = {**os.environ, "KPI_LANG": "zh", **env}
    return subprocess.Popen([sys.executable, str(ROOT / "cli.py"), *map(str, args)], cwd=cwd, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_month_scored_while_its_base_month_is_being_scored_waits_for_it(tmp_path):
    rows = example_rows()
    rows[1][6] = ""                                           # KF1001's October has no 上月销售额
    october = write_csv(tmp_path / "oct.csv", rows)
    env = {"KPI_DB": str(tmp_path / "kpi.db"), "KPI_DB_TIMEOUT": "60"}
    ok("score", EXAMPLE_CSV, "--period", "2026-08", "--out", "aug")   # the ledger exists, September does not
    september = start(["score", EXAMPLE_CSV, "--period", "2026-09", "--out", "sep"], tmp_path,
                      KPI_TEST_WAIT_AT="before_commit:4", **env)
    time.sleep(2)
    second = start(["score", october, "--period", "2026-10", "--out", "oct"], tmp_path, **env)
    assert september.wait(timeout=120) == 0, september.stderr.read().decode()
    assert second.wait(timeout=120) == 0, second.stderr.read().decode()
    agent = json.loads((tmp_path / "oct" / "results.json").read_text(encoding="utf-8"))["agents"][0]
    assert "上月销售额取自台账 2026-09 第 1 版" in agent["explain"]["sales_growth"]


def test_a_month_is_not_scored_on_an_edited_base_month(tmp_path):
    ok("score", EXAMPLE_CSV, "--period", "2026-09", "--out", "sep")
    with sqlite3.connect(tmp_path / "kpi.db") as db:
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            db.execute(f"DROP TRIGGER {name}")
        db.execute("UPDATE results SET inputs = replace(inputs, '\"sales_actual\":\"', '\"sales_actual\":\"9')")
    refused = run("score", EXAMPLE_CSV, "--period", "2026-10", "--out", "oct")
    assert refused.exit_code == 1 and "拒绝在其上继续" in refused.output
    assert not (tmp_path / "oct").exists()


def _output_revision(out: Path):
    head = results_json.read_head(out / "results.json")
    return head["revision"] if head else None


def _settle(tmp_path: Path, out: Path) -> None:
    """What any kpi command does first: opening the ledger finishes an interrupted publication."""
    ledger.Ledger(tmp_path / "kpi.db").close()


@pytest.mark.parametrize(("point", "ledger_after", "output_after"), [
    ("before_commit", 1, 1),     # nothing committed: the previous output, the previous revision
    ("after_commit", 2, 1),      # committed: the next run puts the new output in place
    ("before_swap", 2, 1),
    ("after_swap", 2, 2),
])
def test_a_kill_at_each_point_leaves_ledger_and_output_in_agreement(tmp_path, point, ledger_after, output_after):
    out = tmp_path / "out"
    ok("score", EXAMPLE_CSV, "--period", "2026-09", "--out", out)
    rows = example_rows()
    rows[8][13] = "400"
    changed = write_csv(tmp_path / "changed.csv", rows)
    killed = start(["score", changed, "--period", "2026-09", "--out", out, "--jobs", "1"], tmp_path,
                   KPI_DB=str(tmp_path / "kpi.db"), KPI_TEST_KILL_AT=point)
    _, errors = killed.communicate(timeout=120)
    assert killed.returncode == -signal.SIGKILL, errors.decode()
    assert b"Traceback" not in errors
    assert revisions(tmp_path / "kpi.db") == ledger_after
    assert _output_revision(out) == output_after
    _settle(tmp_path, out)
    assert _output_revision(out) == revisions(tmp_path / "kpi.db") == ledger_after
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")) == []
    assert len(list((out / "scorecards").rglob("*.xlsx"))) == 25
    assert run("verify").exit_code == 0
    ok("score", changed, "--period", "2026-09", "--out", out)  # and kpi goes on from there
    assert _output_revision(out) == revisions(tmp_path / "kpi.db") == ledger_after + 1


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_reader_and_the_workers_die_with_a_killed_parent_without_a_word(tmp_path):
    header, *rows = example_rows()
    many = [[f"X{i:05d}", *rows[i % len(rows)][1:]] for i in range(6000)]
    write_xlsx(tmp_path / "big.xlsx", [header, *many])
    process = start(["score", tmp_path / "big.xlsx", "--period", "2026-09", "--out", "out", "--jobs", "2"],
                    tmp_path, KPI_DB=str(tmp_path / "kpi.db"))
    deadline, children = time.monotonic() + 60, []
    while time.monotonic() < deadline and not children:
        children = _children(process.pid)
        time.sleep(0.05)
    assert children, "no worker was started"
    process.kill()
    _, errors = process.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(pid) for pid in children):
        time.sleep(0.05)
    assert not any(_running(pid) for pid in children)
    assert b"Traceback" not in errors and errors.strip() == b"", errors.decode()


def _killed_between_commit_and_swap(tmp_path: Path, point: str, held: Path | None = None) -> Path:
    """Revision 1 scored and published, revision 2 killed at ``point``; ``held``: a copy of the
    revision 1 cards (those the agents have)."""
    out = tmp_path / "out"
    ok("score", EXAMPLE_CSV, "--period", "2026-09", "--out", out)
    if held is not None:
        shutil.copytree(out / "scorecards", held)
    rows = example_rows()
    rows[8][13] = "400"
    changed = write_csv(tmp_path / "changed.csv", rows)
    killed = start(["score", changed, "--period", "2026-09", "--out", out, "--jobs", "1"], tmp_path,
                   KPI_DB=str(tmp_path / "kpi.db"), KPI_TEST_KILL_AT=point)
    killed.communicate(timeout=120)
    assert killed.returncode == -signal.SIGKILL
    assert (_output_revision(out), revisions(tmp_path / "kpi.db")) == (1, 2)   # the window itself
    return out


@pytest.mark.parametrize("point", ["after_commit", "before_swap"])
@pytest.mark.parametrize("command", [("show", "KF1008", "--period", "2026-09"), ("status", "2026-09"),
                                     ("history", "KF1008"), ("verify",)])
def test_any_command_after_a_kill_in_the_window_sees_ledger_and_output_agree(tmp_path, point, command):
    """Not only the next score: whatever kpi command runs next (a read included) first puts the
    committed revision's output in place, so it never shows the ledger ahead of the files."""
    out = _killed_between_commit_and_swap(tmp_path, point)
    done = run(*command)
    assert done.exit_code == 0, done.output
    assert _output_revision(out) == revisions(tmp_path / "kpi.db") == 2
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")] == []
    assert len(list((out / "scorecards").rglob("*.xlsx"))) == 25


def test_a_card_returned_after_a_kill_in_the_window_is_not_called_tampered(tmp_path):
    """The issue's case: a kill after the commit, then an agent returns the card the folder holds."""
    held = tmp_path / "held"
    out = _killed_between_commit_and_swap(tmp_path, "after_commit", held)
    shutil.copytree(out / "scorecards", held, dirs_exist_ok=True)   # and those the folder held after the kill
    done = run("collect", "--period", "2026-09", held)
    assert done.exit_code == 1                                   # one card refused: as outdated, not as edited
    assert "拒收 KF1008-黄磊.xlsx:工号 KF1008:这是第 1 版的考核表,结果已在第 2 版变更,请使用新表。" in done.output
    assert "篡改" not in done.output and "改动" not in done.output, done.output
    assert _output_revision(out) == revisions(tmp_path / "kpi.db") == 2
