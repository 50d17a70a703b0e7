"""Each month-end optimization measured on and off in the same run (CPU-seconds and wall).

    python bench/optimizations.py [--cards 500] [--rows 100000] [--agents 20000] [--only levers]

1. shared package parts (:mod:`kpi.io.writers.packaging`): ``--cards`` scorecards
   written with the parts of the first card reused, then each rendered afresh;
2. whole-row writing (``Worksheet.write_cells``): the payroll and the team summary of
   ``--rows`` agents written row by row, then through xlsxwriter's public calls cell by cell;
3. the month's own levers: a ``--no-scorecards --jobs 1`` month of ``--agents`` agents in
   one process as kpi makes it, then with each lever taken out in turn (the collector
   resting while the tasks run, item records guarded by their sha256 instead of a chain
   link per row, the input's quick path): :func:`levers`.

Each measurement runs its variants in turn, twice (ABAB), and reports the sum per variant:
the machine's drift then touches both alike. A saving is worth keeping when it is at least
5 % of a 10,000-agent month or of a 100,000-agent ``--no-scorecards`` month
(docs/performance.md holds the figures and the months' CPU).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import month_end  # noqa: E402  (the synthetic month)


class Clock:
    """CPU-seconds and wall seconds spent inside ``with clock:``, summed."""

    def __init__(self) -> None:
        self.cpu = self.wall = 0.0

    def __enter__(self):
        self._cpu, self._wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.cpu += time.process_time() - self._cpu
        self.wall += time.perf_counter() - self._wall


def _month(count: int, folder: Path):
    from kpi.core import calendar, scoring, table
    from kpi.io import config
    from kpi.pipeline import month
    source = folder / "month.xlsx"
    month_end.write_input(source, month_end.synthetic_rows(count))
    ruleset = config.load(None, "2026-09")
    results = scoring.score_month(ruleset, month.validate(source, ruleset).agents)
    return source, ruleset, calendar.for_rules(ruleset), results, [table.row(r, "zh") for r in results]


def shared_parts(count: int, folder: Path) -> dict[str, Clock]:
    from kpi.core import explain
    from kpi.io.writers import packaging, scorecard
    _, ruleset, line, results, _ = _month(max(count, 40), folder)
    explainer = explain.Explainer(ruleset, "zh")
    clocks = {"shared parts": Clock(), "each card alone": Clock()}
    for _ in range(2):
        for name, clock in clocks.items():
            parts = packaging.Parts() if name == "shared parts" else None
            with clock:
                for index in range(count):
                    scorecard.write(folder / f"card-{index}.xlsx", results[index % len(results)], ruleset, line,
                                    "zh", 1, explainer, parts)
    return clocks


def whole_rows(count: int, folder: Path) -> dict[str, Clock]:
    import xlsxwriter.worksheet

    from kpi.io.writers import payroll, team_summary
    from kpi.io.writers import workbook as xlsx
    _, ruleset, line, _, rows = _month(min(count, 2000), folder)
    rows = [rows[index % len(rows)]._replace(agent_id=f"A{index:06d}") for index in range(count)]
    ours = xlsx.Worksheet

    class PerCell(xlsxwriter.worksheet.Worksheet):
        """xlsxwriter's own worksheet, given each cell through its public calls."""
        reused = None
        write_cells = ours._write_each

        def write_values(self, row, layout, values):
            ours._write_each(self, row, zip(layout.columns, values, layout.formats))

    clocks = {"whole rows": Clock(), "cell by cell": Clock()}
    for _ in range(2):
        for name, clock in clocks.items():
            xlsx.Worksheet = ours if name == "whole rows" else PerCell
            try:
                with clock:
                    payroll.write_xlsx(folder / "payroll.xlsx", rows, ruleset, line, "zh")
                    team_summary.write(folder / "summary.xlsx", rows, ruleset, "zh")
            finally:
                xlsx.Worksheet = ours
    return clocks


def levers(count: int, folder: Path) -> dict[str, Clock]:
    """A ``--no-scorecards --jobs 1`` month of ``count`` agents (fresh output and ledger each
    time) as kpi makes it, then with each lever of the month itself taken out in turn: the
    collector at work while the tasks run (:func:`kpi.io.workers._collector_resting` made a
    no-op), the item records and rules linked in the hash chain row by row (the registry of
    the build before, :data:`kpi.core.chain.ADDRESSED` empty), the input's checks without their
    quick path (:func:`kpi.core.inputs._plan` gives none)."""
    from kpi.core import chain, inputs
    from kpi.io import config, workers
    from kpi.ledger.db import Ledger
    from kpi.pipeline import month
    source = folder / "month.xlsx"
    month_end.write_input(source, month_end.synthetic_rows(count))
    ruleset = config.load(None, "2026-09")
    linked = chain.REGISTRY + (chain.Chained("records", ("sha256",), ("sha256", "items"), ""),
                               chain.Chained("rulesets", ("sha256",), ("sha256", "ruleset"), ""))
    variants = {
        "as built": {},
        "collector at work": {(workers, "_collector_resting"): contextlib.nullcontext},
        "records linked row by row": {(chain, "REGISTRY"): linked, (chain, "ADDRESSED"): ()},
        "checks without quick path": {(inputs, "_plan"): lambda columns, ruleset: None},
    }
    clocks = {name: Clock() for name in variants}
    for round_ in range(2):
        for name, clock in clocks.items():
            with contextlib.ExitStack() as taken_out:   # each lever put back however the run ends
                for (module, attribute), value in variants[name].items():
                    taken_out.enter_context(mock.patch.object(module, attribute, value))
                gc.collect()
                with Ledger(folder / f"{name}-{round_}.db") as ledger:
                    with clock:
                        month.score(source, ruleset, folder / f"{name}-{round_}", "zh", ledger, jobs=1,
                                    scorecards=False)
                    linked_rows = ledger.rows("SELECT COUNT(*) AS n FROM chain WHERE tbl = 'records'")[0]["n"]
                if (linked_rows > 0) != (name == "records linked row by row"):
                    raise SystemExit(f"{name}: {linked_rows} records linked in the chain")
    return clocks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", type=int, default=500)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=20_000)
    parser.add_argument("--only", choices=("parts", "rows", "levers"))
    args = parser.parse_args()
    measures = {"parts": (shared_parts, args.cards, "scorecards"), "rows": (whole_rows, args.rows, "rows"),
                "levers": (levers, args.agents, "agents")}
    print("| optimization | size | variant | CPU-s | wall s |\n|---|---|---|---|---|")
    for key, (measure, size, unit) in measures.items():
        if args.only and key != args.only:
            continue
        with tempfile.TemporaryDirectory() as folder:
            for variant, clock in measure(size, Path(folder)).items():
                print(f"| {key} | {size} {unit} (twice) | {variant} | {clock.cpu:.2f} | {clock.wall:.2f} |", flush=True)


if __name__ == "__main__":
    main()
