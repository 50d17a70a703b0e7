"""Sharing a month among processes: the same files and ledger rows as one process."""

from __future__ import annotations

import os
import sqlite3

from hypothesis import given
from hypothesis import strategies as st

from helpers import EXAMPLE_XLSX, ruleset
from kpi import ledger, month, workers


@given(st.permutations(range(12)))
def test_in_order_gives_values_by_index_whatever_order_they_finish_in(finished):
    ordered = list(workers.in_order((index, f"v{index}") for index in finished))
    assert ordered == [f"v{index}" for index in range(12)]


def test_tasks_run_in_workers_and_every_value_comes_back():
    tasks = [lambda n=n: (n * n, os.getpid()) for n in range(9)]
    values = dict(workers.run(tasks, 2))
    assert {index: square for index, (square, _) in values.items()} == {n: n * n for n in range(9)}
    assert os.getpid() not in {pid for _, pid in values.values()}


def test_several_jobs_write_the_files_and_ledger_rows_one_job_writes(tmp_path):
    outputs = {}
    for jobs in (1, 2):
        with ledger.Ledger(tmp_path / f"kpi-{jobs}.db") as book:
            month.score(EXAMPLE_XLSX, ruleset(), tmp_path / f"out-{jobs}", "zh", book, jobs=jobs)
        folder = tmp_path / f"out-{jobs}"
        files = {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
        with sqlite3.connect(tmp_path / f"kpi-{jobs}.db") as db:
            rows = db.execute("SELECT agent_id, inputs, result, fingerprint, card_key, card_path FROM results "
                              "ORDER BY rowid").fetchall()
        outputs[jobs] = files, rows
    assert len(outputs[1][0]) == 29 and len(outputs[1][1]) == 25
    assert outputs[2] == outputs[1]
