"""Running a month's independent pieces of work on several cores (an edge: processes).

A task is any zero-argument callable. Workers are forked, so they inherit the
tasks and everything the tasks refer to (results, rules, the staging folder):
only a task's index goes to a worker and only its return value comes back. One
core, or a platform without ``fork``, runs the same tasks in this process, in
order.

A worker that dies (killed, out of memory) ends the run at once with
:class:`WorkerDied`: the pool is a ``concurrent.futures.ProcessPoolExecutor``,
which notices a vanished process (``multiprocessing.Pool`` would wait for its
task forever).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from kpi.core.errors import KpiError

Task = Callable[[], Any]

_SHARED: dict[str, Sequence[Task]] = {}


class WorkerDied(KpiError, RuntimeError):
    """A worker or reading process ended without finishing its work (killed, out of memory);
    ``exitcode``: its exit code when known (negative: the signal that ended it)."""

    def __init__(self, exitcode: int | None = None):
        self.exitcode = exitcode
        super().__init__(f"a worker process died (exit code {exitcode})")

    def __reduce__(self):
        return type(self), (self.exitcode,)

    @property
    def signal_name(self) -> str:
        """The signal that ended the process (SIGKILL …), or its exit code, or "?"."""
        if self.exitcode is None:
            return "?"
        if self.exitcode < 0:
            with contextlib.suppress(ValueError):
                return signal.Signals(-self.exitcode).name
        return str(self.exitcode)


def run(tasks: Sequence[Task], jobs: int) -> Iterator[tuple[int, Any]]:
    """``(index, value)`` of every task as it finishes, on ``jobs`` processes when asked.

    Leaving the loop early, an error in a task or Ctrl-C stops the workers.
    While the tasks run, here and in the workers, the collector rests (:func:`_collector_resting`).
    """
    if jobs <= 1 or len(tasks) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        with _collector_resting():
            for index, task in enumerate(tasks):
                yield index, task()
        return
    _SHARED["tasks"] = tasks
    try:
        with _collector_resting(), _forking(min(jobs, len(tasks))) as (pool, started):
            futures = [started(index) for index in range(len(tasks))]
            finished = concurrent.futures.as_completed(futures)
            del futures  # as_completed lets each future go once yielded: no task's value outlives its use
            try:
                for future in finished:
                    yield future.result()
            except BrokenProcessPool:
                raise WorkerDied(_exitcode(pool)) from None
    finally:
        _SHARED.clear()


def in_order(finished: Iterable[tuple[int, Any]], first: int = 0) -> Iterator[Any]:
    """The values of ``finished`` (index, value) pairs in index order from ``first``, each as
    soon as every earlier one has arrived."""
    waiting: dict[int, Any] = {}
    expected = first
    for index, value in finished:
        waiting[index] = value
        while expected in waiting:
            yield waiting.pop(expected)
            expected += 1


def stream(produce: Callable[[], Iterable[Any]], batch: int = 500) -> Iterator[Any]:
    """The items of ``produce()``, produced by a forked process while this one uses them.

    Reading a large workbook (openpyxl, one core) then overlaps with checking what
    was read. An exception in the producer is raised here, where the items are used.
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        yield from produce()
        return
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    producer = context.Process(target=_produce, args=(produce, sending, batch, os.getpid()), daemon=True)
    producer.start()
    sending.close()
    try:
        yield from _received(receiving)
    except WorkerDied:
        producer.join(5)
        raise WorkerDied(producer.exitcode) from None
    finally:
        receiving.close()
        producer.terminate()
        producer.join()


def _received(connection) -> Iterator[Any]:
    """The batches sent by :func:`_produce`, unpacked; its exception re-raised."""
    while True:
        try:
            kind, payload = connection.recv()
        except EOFError:  # the producer died (killed, out of memory) before sending its end
            raise WorkerDied() from None
        if kind == "error":
            raise payload
        if kind == "end":
            return
        yield from payload


def _produce(produce: Callable[[], Iterable[Any]], connection, batch: int, parent: int) -> None:
    """Producer process (forked by ``parent``): send the items in batches, then the end or the exception."""
    _ignore_interrupts(parent)
    items: list = []
    try:
        for item in produce():
            items.append(item)
            if len(items) >= batch:
                connection.send(("items", items))
                items = []
        ending: tuple = ("end", None)
    except Exception as error:
        ending = ("error", error)
    with connection:
        connection.send(("items", items))
        connection.send(ending)


def _call(index: int) -> tuple[int, Any]:
    """Worker: run task ``index`` of the list inherited at fork."""
    return index, _SHARED["tasks"][index]()


@contextlib.contextmanager
def _collector_resting():
    """Python's cyclic garbage collector left out while a month's tasks run: what is alive when
    they start (the month's agents, kept to the end) is frozen out of its runs, and it makes no
    runs meanwhile. A month's work makes no reference cycles per agent (its objects go when
    their count drops: tests/test_workers.py; xlsxwriter's cycle is broken when a workbook
    closes, :mod:`kpi.io.writers.packaging`), so nothing waits for the collector; without the
    rest, its runs walk every chunk's results again and again (measured on and off:
    docs/performance.md). Forked workers inherit both. The collector is as it was afterwards."""
    enabled = gc.isenabled()
    gc.freeze()   # also what the workers inherit stays out of their collections: its pages stay shared
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.unfreeze()


@contextlib.contextmanager
def _forking(jobs: int):
    """A pool of forked workers and a function submitting task ``index`` to it (a future).
    The workers are forked at the first submission; Ctrl-C meanwhile waits until they are
    done (Python would otherwise swallow it inside the fork handlers), then interrupts as
    usual. Leaving early (an error, Ctrl-C, a consumer that stops) ends the workers at
    once rather than waiting for their tasks."""
    context = multiprocessing.get_context("fork")
    pool = concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context, initializer=_ignore_interrupts,
                                                initargs=(os.getpid(),))
    forked = [False]

    def started(index: int) -> concurrent.futures.Future:
        if forked[0]:
            return pool.submit(_call, index)
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            return pool.submit(_call, index)
        finally:
            forked[0] = True
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
            pool.kpi_workers = _processes(pool)   # kept: a broken pool forgets its processes

    finished = False
    try:
        yield pool, started
        finished = True
    finally:
        if not finished:
            _stop(pool)
        pool.shutdown(wait=True, cancel_futures=True)


def _processes(pool: concurrent.futures.ProcessPoolExecutor) -> list:
    """The pool's worker processes (a private attribute of the executor: none if it changes)."""
    return list((getattr(pool, "_processes", None) or {}).values())


def _stop(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """End the pool's workers now (their tasks' results are no longer wanted)."""
    for process in _processes(pool):
        with contextlib.suppress(Exception):
            process.terminate()


def _exitcode(pool: concurrent.futures.ProcessPoolExecutor) -> int | None:
    """The exit code of a worker that ended abnormally, if one can still be seen."""
    seen = {id(p): p for p in [*getattr(pool, "kpi_workers", []), *_processes(pool)]}.values()
    for _ in range(50):   # a dead worker's code is known once it has been reaped: wait up to 0.5 s
        codes = [process.exitcode for process in seen if process.exitcode not in (None, 0)]
        if codes:
            break
        time.sleep(0.01)
    codes.sort(key=lambda code: code == -signal.SIGTERM)  # the pool ends the others with SIGTERM
    return codes[0] if codes else None


def _ignore_interrupts(parent: int) -> None:
    """Workers leave Ctrl-C to the parent, which stops the pool and cleans up; they die with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _die_with_parent(parent)


def _die_with_parent(parent: int) -> None:
    """End this forked process when its parent dies (killed with SIGKILL, out of memory).

    A forked worker holds both ends of the pipes it shares with its parent, so it would
    never see them close: it would wait for work forever, keeping the files it inherited
    (the input, the ledger, the parent's stdout) open. Linux is asked to kill it with its
    parent (``PR_SET_PDEATHSIG``); elsewhere a thread watches for the parent to change."""
    # ``parent``: the pid the forking process had, taken before the fork. Read here with
    # getppid() it could already be the reaper's, were the parent killed between the fork and
    # this line, and the worker would outlive it holding the parent's pipes.
    if os.getppid() != parent:
        os._exit(1)
    with contextlib.suppress(Exception):
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent:  # the parent died before the request was made
                    os._exit(1)
                return
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


_PR_SET_PDEATHSIG = 1


def _watch_parent(parent: int, every: float = 0.5) -> None:
    """Exit at once, silently, when the parent process is gone (this process was re-parented)."""
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(1)
