"""Web load benchmark: N agents answering within one minute against one ``kpi serve`` process.

    python bench/web_answers.py [--agents 200] [--within 60] [--workers 20]

Builds a month of ``--agents`` agents (the example month's rows repeated under new ids, in
teams of 25) in a fresh ledger with an agent account each, starts ``kpi serve`` on
127.0.0.1 with a free port (loopback only), then starts one agent every ``within / agents``
seconds (bounded: every request times out after 30 s, the whole run after ``within`` + 120 s).
Each agent opens the login page, logs in, opens their card, confirms (or, one in five,
objects with a reason) and opens the card again. It reports every error, lost answers (the
ledger must hold exactly one answer per agent afterwards) and the page times (median, p95,
max), then stops the server.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kpi.ledger import accounts, answers as ledger_answers, db as ledger
from kpi.core import calendar
from kpi.io import config
from kpi.pipeline import month  # noqa: E402

PERIOD = "2026-09"
PASSWORD = "bench-pass-2026"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def build(folder: Path, count: int) -> tuple[Path, list[str], str]:
    """A scored month of ``count`` agents and their accounts; (ledger, agent ids, answer deadline)."""
    with open(ROOT / "examples" / PERIOD / f"input-{PERIOD}.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    made = [header]
    ids = []
    for index in range(count):
        row = list(body[index % len(body)])
        row[0], row[1], row[2] = f"W{index + 1:05d}", f"客服{index + 1}", f"组{index // 25 + 1:02d}"
        made.append(row)
        ids.append(row[0])
    sheet = folder / "input.csv"
    with open(sheet, "w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(made)
    ruleset = config.load(None, PERIOD)
    db_path = folder / "kpi.db"
    with ledger.Ledger(db_path) as book:
        month.score(sheet, ruleset, folder / "out", "zh", book, scorecards=False)
        for agent_id in ids:
            accounts.add(book, agent_id, "agent", PASSWORD)
    return db_path, ids, str(calendar.for_rules(ruleset).date("confirm_deadline"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def agent_run(base: str, agent_id: str, objects: bool) -> tuple[list[float], list[str]]:
    """One agent's visit; (page times in seconds, errors)."""
    times, errors = [], []
    with httpx.Client(base_url=base, timeout=30.0) as client:
        def timed(method: str, path: str, expect: int, **kwargs):
            started = time.perf_counter()
            response = client.request(method, path, **kwargs)
            times.append(time.perf_counter() - started)
            if response.status_code != expect:
                errors.append(f"{agent_id} {method} {path}: {response.status_code}")
            return response

        page = timed("GET", "/login", 200)
        token = CSRF.search(page.text).group(1)
        timed("POST", "/login", 303, data={"username": agent_id, "password": PASSWORD, "csrf_token": token})
        card = timed("GET", f"/months/{PERIOD}/agents/{agent_id}", 200)
        found = CSRF.search(card.text)
        if not found:
            errors.append(f"{agent_id}: no form on the card")
            return times, errors
        answer = {"answer": "object", "reason": "咨询量统计有误"} if objects else {"answer": "confirm"}
        timed("POST", f"/months/{PERIOD}/agents/{agent_id}/answer", 303, data={**answer, "csrf_token": found.group(1)})
        timed("GET", f"/months/{PERIOD}/agents/{agent_id}", 200)
    return times, errors


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--within", type=float, default=60.0, help="seconds over which the agents start")
    parser.add_argument("--workers", type=int, default=20, help="agents in flight at most")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kpi-web-bench-") as folder:
        started = time.perf_counter()
        db_path, ids, deadline = build(Path(folder), args.agents)
        print(f"built {args.agents} agents and accounts in {time.perf_counter() - started:.1f} s")
        port = free_port()
        env = {**os.environ, "KPI_TODAY": deadline, "PYTHONPATH": str(ROOT)}
        server = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "serve", "--db", str(db_path),
                                   "--host", "127.0.0.1", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            else:
                print("server did not start", file=sys.stderr)
                return 1
            gap = args.within / max(1, args.agents)
            times, errors = [], []
            begun = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(args.workers) as pool:
                futures = []
                for index, agent_id in enumerate(ids):
                    delay = begun + index * gap - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    futures.append(pool.submit(agent_run, base, agent_id, index % 5 == 0))
                for future in concurrent.futures.as_completed(futures, timeout=args.within + 120):
                    try:
                        got_times, got_errors = future.result()
                    except Exception as error:  # a timeout or a refused connection is an error, not a crash
                        got_times, got_errors = [], [f"{type(error).__name__}: {error}"]
                    times += got_times
                    errors += got_errors
            elapsed = time.perf_counter() - begun
        finally:
            server.terminate()
            server.wait(timeout=10)
        with ledger.Ledger(db_path) as book:
            answers = ledger_answers.active_answers(book, PERIOD)
        lost = [agent_id for agent_id in ids if agent_id not in answers]
        wrong = [a for i, a in enumerate(ids) if a in answers
                 and answers[a]["answer"] != ("object" if i % 5 == 0 else "confirm")]
        times.sort()
        p95 = times[int(0.95 * (len(times) - 1))] if times else float("nan")
        print(f"agents: {args.agents}, all answered within {elapsed:.1f} s, requests: {len(times)}, "
              f"errors: {len(errors)}, lost answers: {len(lost)}, wrong answers: {len(wrong)}")
        print(f"page time: median {statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
              f"max {times[-1] * 1000:.0f} ms; cores {os.cpu_count()}")
        for line in errors[:10]:
            print("  error:", line)
        return 0 if not errors and not lost and not wrong else 1


if __name__ == "__main__":
    sys.exit(main())
