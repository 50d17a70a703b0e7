"""A kill at any moment leaves the ledger as it was and no half-written output in place;
two kpi processes on one ledger do not corrupt it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile

from helpers import ROOT, example_rows, write_csv
from kpi.io.writers import results_json
from kpi.ledger import db as ledger

AGENTS = 600


def big_month(path, agents: int = AGENTS):
    """The example month repeated to ``agents`` agents (new ids, same teams)."""
    header, *rows = example_rows()
    many = [[f"X{i:05d}", *row[1:]] for i in range(agents) for row in [rows[i % len(rows)]]]
    return write_csv(path, [header, *many])


def start(args, tmp_path, **env):
    environment = {**os.environ, "KPI_LANG": "zh", **env}
    return subprocess.Popen([sys.executable, str(ROOT / "cli.py"), *map(str, args)], cwd=tmp_path, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def revisions(db_path) -> int:
    with sqlite3.connect(db_path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return connection.execute("SELECT COUNT(*) FROM revisions").fetchone()[0]


def check_outputs(out, ledger_revisions: int, db_path) -> None:
    """Output is complete and of the ledger's last revision, as any kpi command sees it: the
    next command to open the ledger finishes a publication a kill cut between the ledger's
    commit and the folder's swap (the output then one revision behind, never ahead)."""
    if not out.exists():
        return
    head = results_json.read_head(out / "results.json")
    assert head["revision"] in (ledger_revisions, ledger_revisions - 1)
    ledger.Ledger(db_path).close()                     # what any kpi command does first
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert doc["revision"] == ledger_revisions
    cards = list((out / "scorecards").rglob("*.xlsx"))
    assert len(cards) == len(doc["agents"]) == AGENTS
    for path in [*cards[:: max(1, len(cards) // 40)], out / "payroll-2026-09.xlsx", out / "team-summary-2026-09.xlsx"]:
        with zipfile.ZipFile(path) as archive:
            assert archive.testzip() is None


def test_killing_a_scoring_run_at_any_moment(tmp_path):
    source, db_path, out = big_month(tmp_path / "big.csv"), tmp_path / "kpi.db", tmp_path / "out"
    args = ["score", source, "--period", "2026-09", "--out", out, "--db", db_path]
    first = start(args, tmp_path)
    _, errors = first.communicate(timeout=300)
    assert first.returncode == 0, errors.decode()
    durations = []
    for _ in range(2):  # a re-score's length, the shorter of two: a busy machine slows one now and then
        started = time.monotonic()
        second = start(args, tmp_path)
        second.communicate(timeout=300)
        assert second.returncode == 0
        durations.append(time.monotonic() - started)
    duration = min(durations)
    interrupted, kills = 0, 0
    # six kills spread over a run, then (a loaded machine runs slower or faster than measured)
    # more early ones until at least four landed before a commit
    for fraction in (0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 0.1, 0.3, 0.15, 0.25, 0.35, 0.45):
        if kills >= 6 and interrupted >= 4:
            break
        kills += 1
        before = revisions(db_path)
        process = start(args, tmp_path)
        time.sleep(duration * fraction)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        code = process.returncode
        after = revisions(db_path)
        # killed before the commit: nothing recorded; after it (or finished): the whole revision
        assert after in (before, before + 1) and (code == -signal.SIGKILL or after == before + 1)
        interrupted += after == before
        check_outputs(out, after, db_path)
    assert interrupted >= 4
    last = start(args, tmp_path)    # clears what the killed runs left (their processes are gone)
    _, errors = last.communicate(timeout=300)
    assert last.returncode == 0, errors.decode()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_two_processes_on_one_ledger(tmp_path):
    source, db_path = big_month(tmp_path / "big.csv"), tmp_path / "kpi.db"
    runs = [start(["score", source, "--period", "2026-09", "--out", tmp_path / f"out{i}", "--db", db_path],
                  tmp_path, KPI_DB_TIMEOUT="120") for i in range(2)]
    errors = [run.communicate(timeout=300)[1].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], errors
    assert revisions(db_path) == 2
    outputs = sorted(json.loads((tmp_path / f"out{i}" / "results.json").read_text())["revision"] for i in range(2))
    assert outputs == [1, 2]


def test_ctrl_c_stops_cleanly_with_exit_130(tmp_path):
    source, db_path, out = big_month(tmp_path / "big.csv"), tmp_path / "kpi.db", tmp_path / "out"
    process = start(["score", source, "--period", "2026-09", "--out", out, "--db", db_path], tmp_path)
    interrupt_when(process, tmp_path, ".out.tmp-*/scorecards")    # scorecards are being written
    assert_stopped_cleanly(process, out, db_path, tmp_path)


def test_ctrl_c_while_the_payroll_and_summary_are_written(tmp_path):
    """The payroll and summary come last, from the rows of every agent (one process: summary, then payroll)."""
    source, db_path, out = big_month(tmp_path / "big.csv", 5000), tmp_path / "kpi.db", tmp_path / "out"
    process = start(["score", source, "--period", "2026-09", "--out", out, "--db", db_path, "--no-scorecards",
                     "--jobs", "1"], tmp_path)
    interrupt_when(process, tmp_path, ".out.tmp-*/team-summary-2026-09.xlsx")
    assert_stopped_cleanly(process, out, db_path, tmp_path)


def interrupt_when(process, folder, pattern: str, seconds: float = 120) -> None:
    """Ctrl-C to ``process`` as soon as a path matching ``pattern`` shows in ``folder``."""
    deadline = time.monotonic() + seconds
    while not list(folder.glob(pattern)) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)


def assert_stopped_cleanly(process, out, db_path, folder) -> None:
    """Exit 130 with the one-line message; no output, no staging folder, nothing in the ledger."""
    _, stderr = process.communicate(timeout=60)
    stderr = stderr.decode()
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "已中断:台账未改动,未留下写了一半的文件。"
    assert "Traceback" not in stderr
    assert not out.exists() and not db_path.exists()   # no ledger left where there was none (issue 19)
    assert [p.name for p in folder.iterdir() if p.name.startswith(".out")] == []
