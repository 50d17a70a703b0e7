"""The web load benchmark still runs end to end (a few agents) and reports what the README quotes."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "web_answers.py"


def test_the_web_benchmark_reports_errors_lost_answers_and_p95():
    result = subprocess.run([sys.executable, str(BENCH), "--agents", "6", "--within", "2", "--workers", "3"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "agents: 6, " in result.stdout and "errors: 0, lost answers: 0, wrong answers: 0" in result.stdout
    assert " p95 " in result.stdout
