"""Output survives consoles that are not UTF-8 (a Chinese Windows console is GBK)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from helpers import EXAMPLE_CSV, EXAMPLE_XLSX, ROOT, example_rows, write_csv


def kpi(args, encoding, cwd):
    env = {**os.environ, "PYTHONIOENCODING": encoding, "KPI_LANG": "zh"}
    env.pop("KPI_CONFIG", None)
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *map(str, args)], capture_output=True, env=env,
                          cwd=cwd, timeout=120)


@pytest.mark.parametrize("encoding", ["gbk", "ascii"])
def test_score_rules_timeline_and_problems_on_a_narrow_console(tmp_path, encoding):
    bad = example_rows()
    bad[1][8] = "999999"
    runs = {
        "score": (["score", EXAMPLE_CSV, "--period", "2026-09", "--out", tmp_path / "o"], 0),
        "rules": (["rules", "--period", "2026-09"], 0),
        "timeline": (["timeline", "2026-09"], 0),
        "help": (["score", "--help"], 0),
        "problems": (["check", write_csv(tmp_path / "bad.csv", bad), "--period", "2026-09"], 1),
    }
    for name, (args, code) in runs.items():
        done = kpi(args, encoding, tmp_path)
        # click writes UTF-8 when the console claims ASCII (it treats that as a misconfigured locale)
        output = (done.stdout + done.stderr).decode("gbk" if encoding == "gbk" else "utf-8", errors="strict")
        assert done.returncode == code, (name, output)
        assert "Traceback" not in output and "UnicodeEncodeError" not in output, name
    gbk_summary = kpi(runs["score"][0], "gbk", tmp_path).stdout.decode("gbk")
    if encoding == "gbk":
        assert "2026-09 绩效考核:25 名客服" in gbk_summary


def test_a_progress_bar_on_a_terminal_and_none_otherwise(tmp_path):
    text = _on_a_terminal(["score", str(EXAMPLE_CSV), "--period", "2026-09", "--out", str(tmp_path / "tty"), "--jobs", "1"],
                          tmp_path)
    assert "评分、写考核表" in text and "25/25" in text
    assert "写工资表和团队汇总" in text and "2/2" in text
    text = _on_a_terminal(["score", str(EXAMPLE_XLSX), "--period", "2026-09", "--out", str(tmp_path / "bare"),
                           "--no-scorecards", "--db", str(tmp_path / "kpi.db")], tmp_path)
    assert "读取填报表" in text and "26/26" in text    # a workbook says how many rows it has
    assert "评分 " in text and "考核表" not in text and "25/25" in text
    quiet = kpi(["score", EXAMPLE_CSV, "--period", "2026-09", "--out", tmp_path / "pipe"], "utf-8", tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == b""


def _on_a_terminal(args: list[str], folder) -> str:
    """What ``kpi`` shows on stderr when stderr is a terminal (a pseudo-terminal here)."""
    import pty
    primary, secondary = pty.openpty()
    env = {**os.environ, "KPI_LANG": "zh", "PYTHONIOENCODING": "utf-8"}
    process = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), *args], stdout=subprocess.DEVNULL,
                               stderr=secondary, env=env, cwd=folder)
    os.close(secondary)
    seen = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    assert process.wait(timeout=120) == 0
    return seen.decode("utf-8", "replace")
