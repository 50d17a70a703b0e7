"""What-if benchmark: ``kpi whatif`` over a year of a 1,000-agent centre.

    python bench/whatif.py [--agents 1000] [--months 12] [--jobs 2] [--runs 3]

Generates ``--months`` deterministic months of ``--agents`` agents (the synthetic
agents of bench/month_end.py, a different draw each month), scores each into a
fresh temp ledger with ``kpi score --no-scorecards``, then times, in a fresh
process each, ``kpi whatif`` of every month under a proposal that raises one
multiplier and moves one threshold (the text summary, the JSON document and the
xlsx workbook), and reports the medians. Target: under 30 s for 12 × 1,000.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from month_end import synthetic_rows, write_input  # noqa: E402


def months(count: int, start: str = "2026-01") -> list[str]:
    from kpi.core.period import Period

    return Period(start).until(Period(start).shifted(count - 1))


def proposal(folder: Path) -> Path:
    """A proposal raising the 90~100 multiplier and moving the conversion threshold 1.5% → 1.6%."""
    from kpi.io import config

    folder.mkdir()
    for name, edits in (("pay_bands.toml", [('multiplier = "0.9"', 'multiplier = "1.0"')]),
                        ("weights.toml", [('max = "0.015"', 'max = "0.016"'), ('min = "0.015"', 'min = "0.016"')])):
        text = (config.default_dir() / name).read_text(encoding="utf-8")
        for old, new in edits:
            assert old in text, old
            text = text.replace(old, new, 1)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def kpi(*args: str) -> float:
    """Seconds of one kpi command in a fresh process (it must succeed)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, env={**os.environ, "KPI_LANG": "zh"})
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"kpi {args[0]} failed: {done.stderr.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kpi-bench-whatif-"))
    try:
        db = work / "kpi.db"
        periods = months(args.months)
        started = time.perf_counter()
        for number, period in enumerate(periods):
            source = work / f"input-{period}.xlsx"
            write_input(source, synthetic_rows(args.agents, seed=20260000 + number))
            kpi("score", str(source), "--period", period, "--db", str(db), "--out", str(work / period),
                "--no-scorecards", "--jobs", str(args.jobs))
        scoring = time.perf_counter() - started
        rules = proposal(work / "proposal")
        common = ("whatif", "--rules", str(rules), "--from", periods[0], "--to", periods[-1], "--db", str(db))
        timings: dict[str, list[float]] = {"text": [], "json": [], "xlsx": []}
        for _ in range(args.runs):
            timings["text"].append(kpi(*common))
            timings["json"].append(kpi(*common, "--format", "json"))
            timings["xlsx"].append(kpi(*common, "--out", str(work / "whatif.xlsx")))
        print(f"what-if over {args.months} months × {args.agents} agents "
              f"({args.months * args.agents} agent-months; scoring them took {scoring:.1f} s), "
              f"median of {args.runs}, fresh process each, {os.cpu_count()} cores:")
        for kind, values in timings.items():
            print(f"  kpi whatif ({kind:4}) {statistics.median(values):6.2f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
