"""A worker process that dies (killed, out of memory) ends the run within seconds, undone."""

from __future__ import annotations

import os
import signal
import time

import pytest
from click.testing import CliRunner

import cli
from helpers import EXAMPLE_XLSX
from kpi.core import scoring
from kpi.io import workers


def _dies_in_a_worker(parent: int):
    """A stand-in for scoring that SIGKILLs its own process when run in a worker (as the
    kernel's OOM killer would), and scores as usual in the parent."""
    real = scoring.score_agents

    def score_agents(*args):
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args)
    return score_agents


def test_a_killed_worker_ends_the_run_with_a_message_and_exit_70_within_seconds(tmp_path, monkeypatch):
    monkeypatch.setattr(scoring, "score_agents", _dies_in_a_worker(os.getpid()))
    out, db = tmp_path / "out", tmp_path / "kpi.db"
    started = time.monotonic()
    result = CliRunner().invoke(cli.main, ["score", str(EXAMPLE_XLSX), "--period", "2026-09", "--out", str(out),
                                           "--jobs", "2", "--db", str(db)], env={"KPI_LANG": None})
    assert time.monotonic() - started < 20
    assert result.exit_code == 70, result.output
    assert result.output.strip() == ("内部错误:一个工作进程意外终止(可能被系统因内存不足结束,退出信号 SIGKILL);"
                                     "未写入任何文件,台账未改动。请用 --jobs 1 重试,或把这条信息发给维护者。")
    assert not out.exists()          # nothing half-written
    assert not db.exists()           # and no ledger where there was none


def test_the_pool_raises_worker_died_with_the_signal_and_does_not_wait_for_the_others():
    def waits():
        time.sleep(0.3)
        return "done"

    def dies():
        os.kill(os.getpid(), signal.SIGKILL)

    started = time.monotonic()
    with pytest.raises(workers.WorkerDied) as caught:
        list(workers.run([waits, dies, waits, waits, waits, waits], 2))
    assert caught.value.signal_name == "SIGKILL"
    assert time.monotonic() - started < 5


def test_a_reading_process_that_dies_is_a_worker_death_not_a_hang():
    def produce():
        yield 1
        os.kill(os.getpid(), signal.SIGKILL)

    started = time.monotonic()
    with pytest.raises(workers.WorkerDied) as caught:
        list(workers.stream(produce, batch=1))
    assert caught.value.exitcode == -signal.SIGKILL
    assert time.monotonic() - started < 5


def test_leaving_the_loop_early_stops_workers_busy_with_long_tasks():
    def quick():
        return "quick"

    def slow():
        time.sleep(60)
    running = workers.run([quick, slow, slow], 2)
    started = time.monotonic()
    assert next(running)[1] == "quick"
    running.close()
    assert time.monotonic() - started < 5


def test_workers_die_with_a_killed_parent_and_leave_nothing_running(tmp_path):
    """SIGKILL to kpi while its workers write scorecards: they end with it (no orphan keeps the
    input, the ledger or the terminal's pipes open), so the pipes close within seconds."""
    from test_crash import big_month, start
    source, out = big_month(tmp_path / "big.csv"), tmp_path / "out"
    process = start(["score", source, "--period", "2026-09", "--out", out, "--db", tmp_path / "kpi.db",
                     "--jobs", "2"], tmp_path)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.tmp-*/scorecards/*/*.xlsx")) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None
    process.send_signal(signal.SIGKILL)
    started = time.monotonic()
    _, stderr = process.communicate(timeout=30)      # returns once every holder of the pipes is gone
    assert time.monotonic() - started < 10
    assert b"Traceback" not in stderr


def test_a_worker_whose_parent_died_before_it_could_ask_to_die_with_it_ends_at_once():
    """The parent's pid is taken before the fork: a worker that finds another parent when it
    starts (the one it was forked by was killed in between, it was re-parented) ends at once
    instead of outliving it with the parent's pipes open (a kill in that moment hung the
    process that waited for those pipes: CI, test_crash)."""
    import multiprocessing
    context = multiprocessing.get_context("fork")
    child = context.Process(target=workers._die_with_parent, args=(os.getpid() + 10 ** 6,))
    child.start()
    child.join(10)
    assert child.exitcode == 1
    still = context.Process(target=workers._die_with_parent, args=(os.getpid(),))   # its true parent: it lives on
    still.start()
    still.join(10)
    assert still.exitcode == 0
