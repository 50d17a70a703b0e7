"""Sharing a month among processes: the same files and ledger rows as one process."""

from __future__ import annotations

import gc
import os
import shutil
import sqlite3

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import EXAMPLE_XLSX, example_rows, ruleset, write_xlsx
from kpi.ledger import db as ledger
from kpi.pipeline import month
from kpi.io import readers, workers
from kpi.core.errors import InputError, InputProblem


@given(st.permutations(range(12)))
def test_in_order_gives_values_by_index_whatever_order_they_finish_in(finished):
    ordered = list(workers.in_order((index, f"v{index}") for index in finished))
    assert ordered == [f"v{index}" for index in range(12)]


def test_tasks_run_in_workers_and_every_value_comes_back():
    tasks = [lambda n=n: (n * n, os.getpid()) for n in range(9)]
    values = dict(workers.run(tasks, 2))
    assert {index: square for index, (square, _) in values.items()} == {n: n * n for n in range(9)}
    assert os.getpid() not in {pid for _, pid in values.values()}


def test_a_failing_task_leaves_the_collector_on():
    def fails():
        raise ValueError("task failed")
    with pytest.raises(ValueError):
        list(workers.run([fails, fails], 1))
    assert gc.isenabled()


def test_while_tasks_run_the_collector_rests_and_what_lived_before_is_frozen_out_of_it():
    before = gc.get_freeze_count()
    seen = dict(workers.run([gc.get_freeze_count, gc.get_freeze_count], 1))
    resting = dict(workers.run([gc.isenabled, gc.isenabled], 1)) | dict(workers.run([gc.isenabled] * 3, 2))
    assert set(resting.values()) == {False}   # and in forked workers too
    assert min(seen.values()) > before and gc.get_freeze_count() == before and gc.isenabled()
    with pytest.raises(ValueError):
        list(workers.run([lambda: int("x"), lambda: 1], 1))
    assert gc.get_freeze_count() == before and gc.isenabled()


def test_a_month_makes_no_cycles_per_agent_for_the_paused_collector_to_leave(tmp_path):
    """The collector is off while a month is read and scored: anything only it could free would
    pile up with the month's size. Twice the agents must not leave more such garbage."""
    header, *rows = example_rows()
    doubled = rows + [[f"X{row[0]}", *row[1:]] for row in rows]
    left = []
    for name, body in (("once", rows), ("twice", doubled)):
        path = write_xlsx(tmp_path / f"{name}.xlsx", [header, *body])
        gc.collect()
        gc.disable()
        try:
            month.score(path, ruleset(), tmp_path / name, "zh")
            left.append(gc.collect())
        finally:
            gc.enable()
    assert left[1] - left[0] < len(rows), left


def test_several_jobs_write_the_files_and_ledger_rows_one_job_writes(tmp_path):
    outputs = {}
    ledger.Ledger(tmp_path / "kpi-1.db").close()      # one ledger (its secret seals the cards), twice
    shutil.copy(tmp_path / "kpi-1.db", tmp_path / "kpi-2.db")
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


def test_a_stream_gives_every_item_in_order_from_another_process():
    items = list(workers.stream(lambda: ((n, os.getpid()) for n in range(1234)), batch=100))
    assert [n for n, _ in items] == list(range(1234))
    pids = {pid for _, pid in items}
    assert len(pids) == 1 and os.getpid() not in pids


def test_workers_leave_what_they_inherit_out_of_their_collections_and_the_parent_is_unfrozen_after():
    """The month the workers inherit at fork is frozen (gc.freeze): their collections do not
    walk it, so its pages stay shared; the parent's objects are collectable again after."""
    frozen = [lambda: gc.get_freeze_count() > 0 for _ in range(4)]
    assert [value for _, value in workers.run(frozen, 2)] == [True] * 4
    assert gc.get_freeze_count() == 0


def test_a_producers_input_error_reaches_the_consumer_with_its_problems():
    problem = InputProblem("A1", "sales_actual", "填报表!F5", "abc", "not_a_number")

    def produce():
        yield 1
        raise InputError([problem])

    stream = workers.stream(produce)
    assert next(stream) == 1
    with pytest.raises(InputError) as caught:
        next(stream)
    assert caught.value.problems == (problem,)


def test_prefetched_and_plain_reading_give_the_same_rows_agents_and_problems(tmp_path):
    broken = tmp_path / "broken.xlsx"
    book = openpyxl.load_workbook(EXAMPLE_XLSX)
    book.worksheets[0]["F5"] = "abc"
    book.save(broken)
    for path in (EXAMPLE_XLSX, broken):
        assert list(readers.read(path, True).rows) == list(readers.read(path, False).rows)
        assert _outcome(path, True) == _outcome(path, False)
    assert isinstance(_outcome(EXAMPLE_XLSX, True), month.inputs.Parsed)
    assert [problem.location for problem in _outcome(broken, True)] == ["填报表!F5"]


def _outcome(path, prefetch):
    """What validating ``path`` gives: the parsed sheet, or the problems found."""
    try:
        return month.validate(path, ruleset(), prefetch)
    except InputError as error:
        return error.problems


def test_an_encrypted_card_leaves_nothing_for_the_resting_collector(tmp_path):
    """msoffcrypto leaves cycles behind each file; cards are written while the collector rests."""
    from kpi.io import cards
    paths = [write_xlsx(tmp_path / f"card{n}.xlsx", [["工号", "姓名"], [f"KF{n}", "王伟"]]) for n in range(3)]
    gc.collect()
    gc.disable()
    try:
        for path in paths:
            cards.encrypt(path, "pass-word")
        left = gc.collect()
    finally:
        gc.enable()
    assert left < 10, left
