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

AGENTS = 600


def big_month(path):
    """The example month repeated to AGENTS agents (new ids, same teams)."""
    header, *rows = example_rows()
    many = [[f"X{i:05d}", *row[1:]] for i in range(AGENTS) for row in [rows[i % len(rows)]]]
    return write_csv(path, [header, *many])


def start(args, tmp_path, **env):
    environment = {**os.environ, "KPI_LANG": "zh", **env}
    return subprocess.Popen([sys.executable, str(ROOT / "cli.py"), *map(str, args)], cwd=tmp_path, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def revisions(db_path) -> int:
    with sqlite3.connect(db_path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return connection.execute("SELECT COUNT(*) FROM revisions").fetchone()[0]


def check_outputs(out, ledger_revisions: int) -> None:
    """Output is complete and of the ledger's last revision, or of the one whose commit the kill stopped."""
    if not out.exists():
        return
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert doc["revision"] in (ledger_revisions, ledger_revisions + 1)
    cards = list((out / "scorecards").rglob("*.xlsx"))
    assert len(cards) == len(doc["agents"]) == AGENTS
    for path in [*cards[:: max(1, len(cards) // 40)], out / "payroll-2026-09.xlsx", out / "team-summary-2026-09.xlsx"]:
        with zipfile.ZipFile(path) as archive:
            assert archive.testzip() is None


def test_killing_a_scoring_run_at_any_moment(tmp_path):
    source, db_path, out = big_month(tmp_path / "big.csv"), tmp_path / "kpi.db", tmp_path / "out"
    args = ["score", source, "--period", "2026-09", "--out", out, "--db", db_path]
    first = start(args, tmp_path)
    assert first.wait(timeout=300) == 0, first.stderr.read().decode()
    started = time.monotonic()
    second = start(args, tmp_path)
    assert second.wait(timeout=300) == 0
    duration = time.monotonic() - started
    interrupted = 0
    for fraction in (0.05, 0.2, 0.4, 0.6, 0.8, 0.95):
        before = revisions(db_path)
        process = start(args, tmp_path)
        time.sleep(duration * fraction)
        process.send_signal(signal.SIGKILL)
        code = process.wait(timeout=60)
        after = revisions(db_path)
        # killed before the commit: nothing recorded; after it (or finished): the whole revision
        assert after in (before, before + 1) and (code == -signal.SIGKILL or after == before + 1)
        interrupted += after == before
        check_outputs(out, after)
    assert interrupted >= 4


def test_two_processes_on_one_ledger(tmp_path):
    source, db_path = big_month(tmp_path / "big.csv"), tmp_path / "kpi.db"
    runs = [start(["score", source, "--period", "2026-09", "--out", tmp_path / f"out{i}", "--db", db_path],
                  tmp_path, KPI_DB_TIMEOUT="120") for i in range(2)]
    codes = [run.wait(timeout=300) for run in runs]
    assert codes == [0, 0], [run.stderr.read().decode() for run in runs]
    assert revisions(db_path) == 2
    outputs = sorted(json.loads((tmp_path / f"out{i}" / "results.json").read_text())["revision"] for i in range(2))
    assert outputs == [1, 2]


def test_ctrl_c_stops_cleanly_with_exit_130(tmp_path):
    source, db_path, out = big_month(tmp_path / "big.csv"), tmp_path / "kpi.db", tmp_path / "out"
    process = start(["score", source, "--period", "2026-09", "--out", out, "--db", db_path], tmp_path)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.tmp-*/scorecards")) and time.monotonic() < deadline:
        time.sleep(0.01)    # wait until scorecards are being written
    process.send_signal(signal.SIGINT)
    code = process.wait(timeout=60)
    stderr = process.stderr.read().decode()
    assert code == 130, stderr
    assert stderr.strip().splitlines()[-1] == "已中断:台账未改动,未留下写了一半的文件"
    assert "Traceback" not in stderr
    assert not out.exists() and revisions(db_path) == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []
