"""Month-end benchmark: kpi's real path against the physical floor and the usual alternative.

    python bench/month_end.py --agents 10000 [--jobs 2] [--runs 3] [--skip-pandas]

Generates a deterministic synthetic month (valid inputs in every band, several
teams) as an xlsx input, then times, in ``--runs`` rounds that each run every
measurement once (so that all of them see the machine's drift alike; medians reported),
in wall seconds and in CPU-seconds (user + system, of every process of the run: on a
shared machine CPU is what a change costs, wall is what the neighbours allow):

1. the real path: ``kpi score`` on that file in a fresh process, fresh output
   directory and fresh ledger (read, validate, score, results.json, payroll,
   team summary and N scorecards), with ``--jobs 1`` and with ``--jobs J``;
2. the floor: a plain loop that writes the same cells and formats as a kpi
   scorecard into N xlsx files with xlsxwriter's fastest settings (in memory)
   and no logic: the calls of one real scorecard, recorded beforehand, replayed,
   with the package parts every card shares rendered once, as kpi does
   (:mod:`kpi.io.writers.packaging`): a floor is the fastest way to write the same bytes;
3. the usual alternative: pandas ``DataFrame.to_excel`` with openpyxl, one file
   per agent holding the same cells as a scorecard, without its formats (needs
   ``pip install pandas``).

4. the re-score: the ``--jobs J`` run of 1., then the same month again after one
   agent's sales changed, into the same output directory and ledger; it reports
   the second run as a share of the first and how many scorecards it rewrote
   (the others must keep bytes and mtime). ``--skip-rescore`` leaves it out.

It reports the peak resident memory of the real path and the machine's cores.

``--no-scorecards`` times ``kpi score --no-scorecards --jobs J`` (results,
payroll, team summary, ledger), the month-end of very large centres, against a floor
summed in the same run from the cheapest pieces: reading the grid (python-calamine, no
checks), pure scoring of the parsed agents, the payroll xlsx, the results.json lines
(orjson) and the SQLite insert of one row per agent:

    python bench/month_end.py --agents 100000 --no-scorecards --runs 1
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import xlsxwriter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEADERS = ["工号", "姓名", "组别", "级别", "销售目标", "实际销售额", "上月销售额", "访问量(询单人数)",
           "成交量(成交人数)", "主推单品目标", "主推单品实际", "个人订单量", "退单量", "咨询应答量",
           "交易纠纷(因服务态度)", "应答时效", "服务规范", "销售技巧", "产品知识考试", "岗位实操考试", "工作总结"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
MAXIMA = (8, 8, 7, 5, 4, 3)


def synthetic_rows(count: int, seed: int = 20260930) -> list[list]:
    """Deterministic agents whose qualities spread over every band."""
    rng = random.Random(seed)
    return [_agent(i, rng) for i in range(count)]


def _agent(index: int, rng: random.Random) -> list:
    quality = (index * 0.6180339887) % 1.0
    target = rng.randrange(80, 200) * 1000
    actual = round(target * (0.5 + 0.72 * quality), 2)
    last = "" if index % 9 == 4 else round(actual / (0.55 + 0.85 * quality), 2)
    visits = rng.randrange(2000, 6000)
    deals = int(visits * (0.002 + 0.02 * quality))
    orders = deals + int(60 * quality)
    featured = rng.randrange(100, 300)
    judged = [round(m * (0.22 + 0.78 * quality) * 2) / 2 for m in MAXIMA]
    name = SURNAMES[index % 20] + GIVEN[(index // 20) % 20] + (GIVEN[index % 17] if index % 3 else "")
    return [f"A{index:06d}", name, f"客服{index % 37:02d}组", f"P{1 + index % 5}", target, actual, last, visits,
            deals, featured, int(featured * (0.6 + 0.55 * quality)), orders, int(orders * max(0, 0.022 - 0.02 * quality)),
            int(450 * (0.15 + quality)), 0 if quality > 0.35 else (2 if quality < 0.1 else 1), *judged]


def write_input(path: Path, rows: list[list]) -> None:
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet("填报表")
    sheet.write_row(0, 0, HEADERS)
    for r, row in enumerate(rows, start=1):
        sheet.write_row(r, 0, row)
    workbook.close()


# ------------------------------------------------------------------ the real path
class Run(NamedTuple):
    """One measured run: wall seconds, CPU-seconds, peak RSS in MB (0: not measured)."""

    wall: float
    cpu: float
    rss: int = 0


def cpu_now() -> float:
    """CPU-seconds of this process so far (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(work, *args) -> Run:
    """A :class:`Run` of ``work(*args)`` in this process."""
    wall, cpu = time.perf_counter(), cpu_now()
    work(*args)
    return Run(time.perf_counter() - wall, cpu_now() - cpu)


def real_path(source: Path, work: Path, jobs: int, extra: tuple[str, ...] = ()) -> Run:
    """One ``kpi score`` in a fresh process with a fresh ledger."""
    out, db = Path(tempfile.mkdtemp(dir=work)), Path(tempfile.mkdtemp(dir=work)) / "kpi.db"
    return kpi_score(source, out / "month", db, jobs, extra)


def kpi_score(source: Path, out: Path, db: Path, jobs: int, extra: tuple[str, ...] = ()) -> Run:
    """``kpi score`` into ``out`` and ``db``: wall, CPU of its whole process tree (workers and the
    reading process are waited for, so the kernel adds them in) and peak RSS of the largest process."""
    command = [sys.executable, str(ROOT / "cli.py"), "score", str(source), "--period", "2026-09",
               "--out", str(out), "--db", str(db), "--jobs", str(jobs), *extra]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"kpi score failed: {process.stderr.read().decode()}")
    return Run(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024)


def changed_input(rows: list[list], work: Path) -> Path:
    """The same month after agent 17's sales rose by 1,000."""
    changed = [list(row) for row in rows]
    changed[17][5] += 1000
    write_input(work / "changed.xlsx", changed)
    return work / "changed.xlsx"


def rescore(source: Path, changed: Path, work: Path, jobs: int) -> tuple[Run, Run, int]:
    """(first run, re-score, scorecards rewritten): ``source`` scored, then ``changed`` scored
    into the same folder and ledger."""
    folder = Path(tempfile.mkdtemp(dir=work))
    out, db = folder / "out", folder / "kpi.db"
    first = kpi_score(source, out, db, jobs)
    before = _stats(out / "scorecards")
    second = kpi_score(changed, out, db, jobs)
    after = _stats(out / "scorecards")
    return first, second, sum(after[name] != before.get(name) for name in after)


def _stats(folder: Path) -> dict[str, tuple]:
    """Each file under ``folder``: (size, mtime in ns, sha256 of its bytes)."""
    return {str(p.relative_to(folder)): (info.st_size, info.st_mtime_ns, hashlib.sha256(p.read_bytes()).digest())
            for p in folder.rglob("*.xlsx") for info in (p.stat(),)}


# ------------------------------------------------------------------ the floor
class _Recorder:
    """Stands in for an xlsxwriter object and records every call made on it."""

    def __init__(self, real, log: list, kind: str):
        self._real, self._log, self._kind = real, log, kind

    def __getattr__(self, name):
        target = getattr(self._real, name)
        if not callable(target):
            return target

        def call(*args, **kwargs):
            result = target(*args, **kwargs)
            self._log.append((self._kind, name, args, kwargs, result))
            return _Recorder(result, self._log, "sheet") if name == "add_worksheet" else result
        return call


def record_scorecard() -> tuple[list, list]:
    """The workbook and worksheet calls of one real kpi scorecard (sealed), and its formats."""
    from kpi.core import calendar, scoring, seal
    from kpi.io import config, reuse
    from kpi.pipeline import month
    from kpi.io.writers import scorecard
    from kpi.io.writers import workbook as xlsx
    ruleset = config.load(None, "2026-09")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "one.xlsx"
        write_input(source, synthetic_rows(40))
        result = scoring.score_month(ruleset, month.validate(source, ruleset).agents)[7]
        log: list = []
        kpis = xlsx.Workbook  # the workbook kpi makes; the calls are recorded on a plain xlsxwriter one

        def recording_workbook(*args, **kwargs):
            return _Recorder(xlsxwriter.Workbook(*args, **kwargs), log, "book")
        xlsx.Workbook = recording_workbook
        try:
            # sealed, as every card of a month scored into a ledger is (its hidden column of tags)
            scorecard.write(Path(folder) / "card.xlsx", result, ruleset, calendar.for_rules(ruleset), "zh", 1,
                            sealer=seal.Sealer(b"bench" * 8, reuse.fingerprint))
        finally:
            xlsx.Workbook = kpis
    formats = [call for call in log if call[1] == "add_format"]
    return [call for call in log if call[1] not in ("add_format", "close")], formats


def floor(count: int, work: Path, calls: list, formats: list) -> Run:
    """Writing ``count`` files with the recorded calls and formats, nothing else; the parts
    every file shares (styles, theme, properties) rendered once, as kpi does."""
    from kpi.io import workers
    from kpi.io.writers import packaging
    folder, parts = Path(tempfile.mkdtemp(dir=work)), packaging.Parts()
    with workers._collector_resting():   # as kpi writes its cards
        return _floor(count, folder, parts, calls, formats)


def _floor(count: int, folder: Path, parts, calls: list, formats: list) -> Run:
    from kpi.io.writers import packaging
    from kpi.io.writers.workbook import OPTIONS
    started, cpu = time.perf_counter(), cpu_now()
    for index in range(count):
        workbook = packaging.SharingWorkbook(str(folder / f"{index}.xlsx"), OPTIONS, parts)
        workbook.worksheet_class = packaging.Worksheet
        made = {id(result): workbook.add_format(*args, **kwargs) for _, _, args, kwargs, result in formats}
        sheet = None
        for kind, name, args, kwargs, _ in calls:
            args = [made.get(id(a), a) for a in args]
            if kind == "book":
                value = getattr(workbook, name)(*args, **kwargs)
                sheet = value if name == "add_worksheet" else sheet
            else:
                getattr(sheet, name)(*args, **kwargs)
        workbook.close()
    return Run(time.perf_counter() - started, cpu_now() - cpu)


def floor_pieces(source: Path, work: Path, count: int) -> dict[str, Run]:
    """The cheapest pieces of a ``--no-scorecards`` month, each timed here: the grid read by
    python-calamine (no checks), pure scoring of the parsed agents, the payroll xlsx, the
    results.json lines (orjson) and one SQLite insert of a row per agent; each piece's least
    CPU of two tries, with the collector resting as kpi's month has it."""
    from kpi.io import config, workers
    from kpi.pipeline import month
    ruleset = config.load(None, "2026-09")
    agents = month.validate(source, ruleset).agents
    tries = []
    for _ in range(2):   # a floor is the fastest seen: each piece's least CPU of two tries
        with workers._collector_resting():   # as kpi's month runs its tasks: a floor uses kpi's techniques
            tries.append(_floor_pieces(source, Path(tempfile.mkdtemp(dir=work)), count, ruleset, agents))
    return {name: min((pieces[name] for pieces in tries), key=lambda run: run.cpu) for name in tries[0]}


def _floor_pieces(source: Path, work: Path, count: int, ruleset, agents) -> dict[str, Run]:
    import sqlite3

    import python_calamine

    from kpi.core import calendar, explain, scoring, table
    from kpi.io.writers import payroll, results_json
    pieces: dict[str, Run] = {}

    def read() -> None:
        book = python_calamine.CalamineWorkbook.from_path(str(source))
        for _ in book.get_sheet_by_name("填报表").iter_rows():
            pass
        book.close()
    pieces["read (calamine)"] = timed(read)
    results: list = []
    pieces["pure scoring"] = timed(lambda: results.extend(scoring.score_month(ruleset, agents)))
    rows = table.payroll(results, "zh")
    pieces["payroll xlsx"] = timed(payroll.write_xlsx, work / "floor-payroll.xlsx", rows, ruleset,
                                   calendar.for_rules(ruleset), "zh")
    lines: list[bytes] = []

    def json_lines() -> None:
        explainers = {"zh": explain.Explainer(ruleset, "zh")}
        with open(work / "floor-results.json", "wb") as out:
            for result in results:
                lines.append(results_json.line(ruleset, result, "zh", explain.texts(explainers, result)["zh"]))
            out.write(b"\n".join(lines))
    pieces["results.json (orjson)"] = timed(json_lines)

    def insert() -> None:
        db = sqlite3.connect(work / "floor.db")
        with db:
            db.execute("CREATE TABLE results (agent_id TEXT PRIMARY KEY, row BLOB NOT NULL)")
            db.executemany("INSERT INTO results VALUES (?, ?)",
                           ((result.agent.agent_id, line) for result, line in zip(results, lines)))
        db.close()
    pieces["SQLite insert"] = timed(insert)
    assert len(results) == count
    return pieces


# ------------------------------------------------------------------ pandas
def cell_grid(calls: list) -> list[list]:
    """The values a recorded scorecard writes, as rows of cells (formulas as their text)."""
    cells: dict[tuple[int, int], object] = {}
    for kind, name, args, _, _ in calls:
        if kind != "sheet" or name not in ("write_string", "write_number", "write_formula", "merge_range", "write_row"):
            continue
        row, col = args[0], args[1]
        if name == "merge_range":
            cells[(row, col)] = args[4]
        elif name == "write_row":
            cells.update({(row, col + offset): value for offset, value in enumerate(args[2])})
        else:
            cells[(row, col)] = args[2]
    height, width = max(r for r, _ in cells) + 1, max(c for _, c in cells) + 1
    return [[cells.get((r, c), "") for c in range(width)] for r in range(height)]


def pandas_alternative(count: int, work: Path, grid: list[list]) -> Run:
    """Seconds for pandas DataFrame.to_excel (openpyxl), one file per agent, each holding the
    same cells as a kpi scorecard (no formats, no merges, no print setup: less than kpi writes)."""
    import pandas
    folder = Path(tempfile.mkdtemp(dir=work))
    started, cpu = time.perf_counter(), cpu_now()
    for index in range(count):
        pandas.DataFrame(grid).to_excel(folder / f"{index}.xlsx", engine="openpyxl", index=False, header=False)
    return Run(time.perf_counter() - started, cpu_now() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--skip-rescore", action="store_true")
    parser.add_argument("--no-scorecards", action="store_true", help="time only kpi score --no-scorecards")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        (no_scorecards if args.no_scorecards else report)(Path(folder), args)


def no_scorecards(work: Path, args) -> None:
    """The results, payroll, team summary and ledger of ``--agents`` agents, no scorecards,
    against the floor summed from the cheapest pieces, measured after each run."""
    source = work / "month.xlsx"
    write_input(source, synthetic_rows(args.agents))
    print(f"machine: {os.cpu_count()} cores; {args.agents} agents; median of {args.runs} runs")
    runs, floors = [], []
    for _ in range(args.runs):
        runs.append(real_path(source, work, args.jobs, ("--no-scorecards",)))
        floors.append(floor_pieces(source, Path(tempfile.mkdtemp(dir=work)), args.agents))
    real = _median(runs)
    pieces = {name: _median([f[name] for f in floors]) for name in floors[0]}
    total = Run(sum(p.wall for p in pieces.values()), sum(p.cpu for p in pieces.values()))
    print("| run | wall | CPU | ratio (CPU) |\n|---|---|---|---|")
    print(f"| kpi score --no-scorecards --jobs {args.jobs} | {real.wall:.1f} s | {real.cpu:.1f} CPU-s | "
          f"{real.cpu / total.cpu:.2f} × floor sum |")
    for name, piece in pieces.items():
        print(f"| floor: {name} | {piece.wall:.1f} s | {piece.cpu:.1f} CPU-s | |")
    print(f"| floor sum | {total.wall:.1f} s | {total.cpu:.1f} CPU-s | 1.00 |")
    print(f"peak RSS of the real path: {max(r.rss for r in runs)} MB")


def _median(runs: list[Run]) -> Run:
    return Run(statistics.median(r.wall for r in runs), statistics.median(r.cpu for r in runs),
               max(r.rss for r in runs))


def report(work: Path, args) -> None:
    """Each round runs every measurement once, so that all of them see the machine's drift alike."""
    n = args.agents
    source, rows = work / "month.xlsx", synthetic_rows(n)
    write_input(source, rows)
    changed = changed_input(rows, work)
    calls, formats = record_scorecard()
    grid = cell_grid(calls)
    print(f"machine: {os.cpu_count()} cores; {n} agents; median of {args.runs} rounds")
    rounds = [_round(source, changed, work, args, calls, formats, grid) for _ in range(args.runs)]
    median = {key: _median([r[key] for r in rounds]) for key in rounds[0] if not isinstance(rounds[0][key], int)}
    real_1, real_j, floor_ = median["single"], median["parallel"], median["floor"]

    def line(name: str, run: Run, ratio: str) -> str:
        return f"| {name} | {run.wall:.1f} s | {run.cpu:.1f} CPU-s | {ratio} |"
    lines = [line("real path, --jobs 1", real_1, f"{real_1.cpu / floor_.cpu:.2f} × floor"),
             line(f"real path, --jobs {args.jobs}", real_j, f"{real_j.cpu / floor_.cpu:.2f} × floor"),
             line("floor (xlsxwriter, in memory, shared parts, no logic)", floor_, "1.00")]
    if "pandas" in median:
        lines.append(line("pandas to_excel (openpyxl)", median["pandas"],
                          f"{median['pandas'].cpu / real_1.cpu:.2f} × real path (--jobs 1)"))
    print("| run | wall | CPU | ratio (CPU) |\n|---|---|---|---|\n" + "\n".join(lines))
    print(f"peak RSS of the real path: {max(max(r['single'].rss, r['parallel'].rss) for r in rounds)} MB")
    if "again" in median:
        again = median["again"]
        print(f"re-score after one change (--jobs {args.jobs}): {again.wall:.1f} s = "
              f"{100 * again.wall / real_j.wall:.1f} % of the first run ({real_j.wall:.1f} s); "
              f"CPU {again.cpu:.1f} CPU-s = {100 * again.cpu / real_j.cpu:.1f} %; "
              f"scorecards rewritten: {max(r['rewritten'] for r in rounds)} of {n}")


def _round(source: Path, changed: Path, work: Path, args, calls, formats, grid) -> dict:
    """One of each measurement; the parallel first run doubles as the re-score's first run."""
    single = real_path(source, work, 1)
    if args.skip_rescore:
        parallel, measured = real_path(source, work, args.jobs), {}
    else:
        parallel, again, rewritten = rescore(source, changed, work, args.jobs)
        measured = {"again": again, "rewritten": rewritten}
    measured.update(single=single, parallel=parallel, floor=floor(args.agents, work, calls, formats))
    if not args.skip_pandas:
        measured["pandas"] = pandas_alternative(args.agents, work, grid)
    return measured


if __name__ == "__main__":
    main()
