"""The month-end benchmark still runs end to end (tiny month) and reports what the README quotes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "month_end.py"


def test_the_benchmark_reports_ratios_memory_and_a_one_card_rescore(tmp_path):
    done = subprocess.run([sys.executable, str(BENCH), "--agents", "40", "--runs", "1", "--jobs", "2",
                           "--skip-pandas"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"^machine: \d+ cores; 40 agents", out, re.M)
    assert re.search(r"^\| real path, --jobs 1 \| [\d.]+ s \| [\d.]+ CPU-s \| [\d.]+ × floor \|$", out, re.M)
    assert re.search(r"^\| real path, --jobs 2 \| [\d.]+ s \| [\d.]+ CPU-s \| [\d.]+ × floor \|$", out, re.M)
    assert re.search(r"^peak RSS of the real path: \d+ MB$", out, re.M)
    assert re.search(r"^re-score after one change \(--jobs 2\): [\d.]+ s = [\d.]+ % of the first run .*"
                     r"scorecards rewritten: 1 of 40$", out, re.M)


def test_the_no_scorecards_benchmark_reports_cpu_against_the_floor_sum(tmp_path):
    done = subprocess.run([sys.executable, str(BENCH), "--agents", "40", "--runs", "1", "--jobs", "2",
                           "--no-scorecards"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"^\| kpi score --no-scorecards --jobs 2 \| [\d.]+ s \| [\d.]+ CPU-s \| [\d.]+ × floor sum \|$",
                     out, re.M)
    pieces = re.findall(r"^\| floor: (.+?) \| [\d.]+ s \| [\d.]+ CPU-s \| \|$", out, re.M)
    assert pieces == ["read (calamine)", "pure scoring", "payroll xlsx", "results.json (orjson)", "SQLite insert"]
    assert re.search(r"^\| floor sum \| [\d.]+ s \| [\d.]+ CPU-s \| 1.00 \|$", out, re.M)
    assert re.search(r"^peak RSS of the real path: \d+ MB$", out, re.M)
