"""Running a month's independent pieces of work on several cores (an edge: processes).

A task is any zero-argument callable. Workers are forked, so they inherit the
tasks and everything the tasks refer to (results, rules, the staging folder):
only a task's index goes to a worker and only its return value comes back. One
core, or a platform without ``fork``, runs the same tasks in this process, in
order.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

Task = Callable[[], Any]

_SHARED: dict[str, Sequence[Task]] = {}


def run(tasks: Sequence[Task], jobs: int) -> Iterator[tuple[int, Any]]:
    """``(index, value)`` of every task as it finishes, on ``jobs`` processes when asked.

    Leaving the loop early, an error in a task or Ctrl-C stops the workers.
    """
    if jobs <= 1 or len(tasks) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        with collector_paused():
            for index, task in enumerate(tasks):
                yield index, task()
        return
    _SHARED["tasks"] = tasks
    try:
        with _forking(min(jobs, len(tasks))) as pool:
            yield from pool.imap_unordered(_call, range(len(tasks)))
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
    finally:
        receiving.close()
        producer.terminate()
        producer.join()


def _received(connection) -> Iterator[Any]:
    """The batches sent by :func:`_produce`, unpacked; its exception re-raised."""
    while True:
        try:
            kind, payload = connection.recv()
        except EOFError:
            raise RuntimeError("the producing process ended without sending its end") from None
        if kind == "error":
            raise payload
        if kind == "end":
            return
        yield from payload


def _produce(produce: Callable[[], Iterable[Any]], connection, batch: int, parent: int) -> None:
    """Producer process: send the items in batches, then the end or the exception (without
    the garbage collector: see :func:`collector_paused`). It dies with its parent."""
    _ignore_interrupts()
    _die_with(parent)
    gc.disable()
    items: list = []
    try:
        for item in produce():
            items.append(item)
            if len(items) >= batch:
                _send(connection, ("items", items))
                items = []
        ending: tuple = ("end", None)
    except Exception as error:
        ending = ("error", error)
    try:
        with connection:
            connection.send(("items", items))
            connection.send(ending)
    except OSError:   # the parent is gone (a pipe without reader): leave quietly, no traceback
        os._exit(0)


def _send(connection, message) -> None:
    """Send to the parent; if it is gone, end this process at once and silently."""
    try:
        connection.send(message)
    except OSError:
        os._exit(0)


PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux ``prctl(PR_SET_PDEATHSIG)``),
    so a killed kpi leaves no worker holding the ledger and the input open. Elsewhere a
    worker notices a parent gone when it next talks to it."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:   # the parent died before the request was made
        os._exit(0)


def _worker_start(parent: int) -> None:
    """A pool worker: Ctrl-C is the parent's to handle; it dies with its parent."""
    _ignore_interrupts()
    _die_with(parent)


def _call(index: int) -> tuple[int, Any]:
    """Worker: run task ``index`` of the list inherited at fork."""
    return index, _SHARED["tasks"][index]()


@contextlib.contextmanager
def _forking(jobs: int):
    """A pool of forked workers; Ctrl-C during the forks waits until they are done (Python
    would otherwise swallow it inside the fork handlers), then interrupts as usual."""
    context = multiprocessing.get_context("fork")
    with collector_paused():  # the workers inherit that: no collection touches the pages they share
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            pool = context.Pool(jobs, initializer=_worker_start, initargs=(os.getpid(),))
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        with pool:
            yield pool


@contextlib.contextmanager
def collector_paused():
    """Python's garbage collector off for a while, on again after (it then collects any cycle
    made meanwhile): while a workbook is read and checked, and while a month's tasks run.

    What a month makes either lives on (the agents, their payroll rows) or dies by
    reference counting (rows read, results, each workbook written: see
    :class:`kpi.writers.workbook.Workbook`); a whole month of 10,000 agents makes about 200
    objects in cycles. The collector's runs would only walk what lives on again and
    again: a fifth of the time of reading 10,000 rows, a few seconds of each worker's
    scoring of 100,000 agents."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the parent, which stops the pool and cleans up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
