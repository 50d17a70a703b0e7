"""bench/optimizations.py still measures each kept or removed optimization on and off (tiny sizes)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "optimizations.py"


def test_each_optimization_is_measured_on_and_off(tmp_path):
    done = subprocess.run([sys.executable, str(BENCH), "--cards", "4", "--rows", "60", "--agents", "40"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = re.findall(r"^\| (\w+) \| \d+ \w+ \(twice\) \| ([\w ]+) \| [\d.]+ \| [\d.]+ \|$", done.stdout, re.M)
    assert rows == [("parts", "shared parts"), ("parts", "each card alone"), ("rows", "whole rows"),
                    ("rows", "cell by cell"), ("levers", "as built"), ("levers", "collector at work"),
                    ("levers", "records linked row by row"), ("levers", "checks without quick path")]
