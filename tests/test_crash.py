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
    """Output is absent, or complete and of a revision the ledger knows (or the one being committed)."""
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
    kills = 0
    for fraction in (0.05, 0.2, 0.4, 0.6, 0.8, 0.95):
        before = revisions(db_path)
        process = start(args, tmp_path)
        time.sleep(duration * fraction)
        process.send_signal(signal.SIGKILL)
        code = process.wait(timeout=60)
        kills += code == -signal.SIGKILL
        after = revisions(db_path)
        assert after == before if code == -signal.SIGKILL else after == before + 1
        check_outputs(out, after)
    assert kills >= 4


def test_two_processes_on_one_ledger(tmp_path):
    source, db_path = big_month(tmp_path / "big.csv"), tmp_path / "kpi.db"
    runs = [start(["score", source, "--period", "2026-09", "--out", tmp_path / f"out{i}", "--db", db_path],
                  tmp_path, KPI_DB_TIMEOUT="120") for i in range(2)]
    codes = [run.wait(timeout=300) for run in runs]
    assert codes == [0, 0], [run.stderr.read().decode() for run in runs]
    assert revisions(db_path) == 2
    outputs = sorted(json.loads((tmp_path / f"out{i}" / "results.json").read_text())["revision"] for i in range(2))
    assert outputs == [1, 2]
