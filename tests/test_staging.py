"""Outputs appear whole or not at all, and what a killed run left behind is cleared."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kpi.io import output


@pytest.fixture
def dead_pid():
    """The id of a process that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_killed_runs_staging_is_cleared_by_the_next_run(tmp_path, dead_pid):
    host = output._host()
    abandoned = tmp_path / f".2026-09.tmp-{host}-{dead_pid}-abcd"
    running = tmp_path / f".2026-09.tmp-{host}-{output.os.getpid()}-efgh"       # this process: alive
    elsewhere = tmp_path / f".2026-09.tmp-otherhost-{dead_pid}-ijkl"            # another machine's run
    other_month = tmp_path / f".2026-10.tmp-{host}-{dead_pid}-mnop"
    for folder in (abandoned, running, elsewhere, other_month):
        (folder / "scorecards").mkdir(parents=True)
    with output.staged(tmp_path / "2026-09") as staging:
        (staging / "results.json").write_text("{}")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["2026-09", running.name, elsewhere.name, other_month.name])


def test_an_output_moved_aside_by_a_killed_run_comes_back(tmp_path, dead_pid):
    """Killed between moving the old output aside and putting the new one in place."""
    aside = tmp_path / f".2026-09.old-{output._host()}-{dead_pid}-abcd"
    aside.mkdir()
    (aside / "results.json").write_text('{"revision": 1}')
    output.clear_abandoned(tmp_path / "2026-09", "2026-09")
    assert (tmp_path / "2026-09" / "results.json").read_text() == '{"revision": 1}'
    assert not aside.exists()


def test_a_killed_runs_file_is_cleared_and_the_new_file_written(tmp_path, dead_pid):
    left = tmp_path / f".payroll-2026-09.tmp-{output._host()}-{dead_pid}-abcd.xlsx"
    left.write_bytes(b"half")
    with output.staged_file(tmp_path / "payroll-2026-09.xlsx") as staging:
        staging.write_bytes(b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["payroll-2026-09.xlsx"]
    assert (tmp_path / "payroll-2026-09.xlsx").read_bytes() == b"whole"


def test_a_failed_run_leaves_the_earlier_output(tmp_path):
    (tmp_path / "2026-09").mkdir()
    (tmp_path / "2026-09" / "results.json").write_text("earlier")
    with pytest.raises(RuntimeError), output.staged(tmp_path / "2026-09") as staging:
        (staging / "results.json").write_text("half")
        raise RuntimeError("disk full")
    assert [p.name for p in tmp_path.iterdir()] == ["2026-09"]
    assert (tmp_path / "2026-09" / "results.json").read_text() == "earlier"
