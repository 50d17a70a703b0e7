"""Writing the month's scorecards: only those that changed, on several cores (an edge).

Each scorecard has a key: a hash of everything it shows. When the ledger says
an agent's key is the same as last revision's and the file is still the one
written then (same size and mtime), the new output directory gets a hard link
to it (a copy with its times where links are impossible): same bytes, same
mtime, no work. The others are written, in ``jobs`` processes when asked.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import multiprocessing
import os
import shutil
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import msoffcrypto.format.ooxml

import kpi
from kpi import calendar, rules
from kpi.scoring import AgentResult
from kpi.writers import scorecard


class Card(NamedTuple):
    """One agent's scorecard: where it goes, its content key, the revision that wrote it."""

    result: AgentResult
    path: Path              # relative to the output directory
    key: str
    revision: int | None
    reuse: bool
    password: str | None = None


class Previous(NamedTuple):
    """What the ledger knows of an agent's last scorecard."""

    key: str
    revision: int
    stat: str


def key(result: AgentResult, ruleset: rules.Ruleset, deadline, lang: str, password: str | None = None) -> str:
    """A hash of everything a scorecard shows, its password, and kpi's version, which draws it."""
    agent, pay = result.agent, result.pay
    items = [(i.item_id, i.inputs, i.measure, i.tier, i.steps, i.points, i.notes) for i in result.items]
    content = repr((kpi.__version__, ruleset.version.sha256, lang, str(deadline), agent.agent_id, agent.name,
                    agent.team, agent.level, items, result.total, pay.band, pay.base_pay, pay.performance_pay,
                    pay.source, pay.total_pay, password))
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def file_stat(path: Path) -> str:
    """Size and modification time of a file, to recognise it later."""
    info = path.stat()
    return f"{info.st_size}:{info.st_mtime_ns}"


def plan(results: Sequence[AgentResult], ruleset: rules.Ruleset, timeline: calendar.Timeline, lang: str,
         revision: int | None, previous: dict[str, Previous], old_dir: Path,
         passwords: dict[str, str] | None = None) -> list[Card]:
    """Which scorecards to write (encrypted with ``passwords`` when given) and which to keep."""
    deadline = timeline.date("confirm_deadline")
    cards = []
    for result in results:
        password = (passwords or {}).get(result.agent.agent_id)
        path, new_key = scorecard.relative_path(result), key(result, ruleset, deadline, lang, password)
        before = previous.get(result.agent.agent_id)
        kept = (before is not None and before.key == new_key and (old_dir / path).is_file()
                and file_stat(old_dir / path) == before.stat)
        cards.append(Card(result, path, new_key, before.revision if kept else revision, kept, password))
    return cards


def write(cards: Sequence[Card], folder: Path, old_dir: Path, ruleset: rules.Ruleset,
          timeline: calendar.Timeline, lang: str, jobs: int = 1, progress: Callable[[int], None] = lambda n: None,
          meanwhile: Callable[[], None] = lambda: None):
    """Put every card into ``folder``: kept ones linked from ``old_dir``, the rest written.

    ``meanwhile`` is the caller's other work: with several jobs it runs while the
    workers write, so the month's other files cost no extra time.
    """
    for directory in {(folder / card.path).parent for card in cards}:
        directory.mkdir(parents=True, exist_ok=True)
    fresh = [card for card in cards if not card.reuse]
    for card in cards:
        if card.reuse:
            _link(old_dir / card.path, folder / card.path)
    progress(len(cards) - len(fresh))
    tasks = [(card.result, folder / card.path, card.revision, card.password) for card in fresh]
    if jobs > 1 and len(tasks) > jobs and "fork" in multiprocessing.get_all_start_methods():
        _write_parallel(tasks, ruleset, timeline, lang, jobs, progress, meanwhile)
    else:
        meanwhile()
        for task in tasks:
            _write_one(task, ruleset, timeline, lang)
            progress(1)


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _write_one(task, ruleset, timeline, lang) -> None:
    result, path, revision, password = task
    scorecard.write(path, result, ruleset, timeline, lang, revision)
    if password:
        encrypt(path, password)


def encrypt(path: Path, password: str) -> None:
    """Replace ``path`` by its copy encrypted with ``password`` (Office standard encryption)."""
    plain = io.BytesIO(path.read_bytes())
    locked = path.with_suffix(".locked")
    with open(locked, "wb") as handle:
        msoffcrypto.format.ooxml.OOXMLFile(plain).encrypt(password, handle)
    os.replace(locked, path)


_SHARED: dict = {}


def _write_chunk(bounds: tuple[int, int]) -> int:
    """Worker: write tasks[start:stop] from the state inherited at fork."""
    start, stop = bounds
    for task in _SHARED["tasks"][start:stop]:
        _write_one(task, _SHARED["ruleset"], _SHARED["timeline"], _SHARED["lang"])
    return stop - start


def _write_parallel(tasks, ruleset, timeline, lang, jobs: int, progress, meanwhile) -> None:
    """Forked workers inherit the tasks (no pickling) and write chunks of them."""
    _SHARED.update(tasks=tasks, ruleset=ruleset, timeline=timeline, lang=lang)
    size = max(1, min(200, len(tasks) // (jobs * 8) or 1))
    chunks = [(start, min(start + size, len(tasks))) for start in range(0, len(tasks), size)]
    context = multiprocessing.get_context("fork")
    try:
        with _forking(context, jobs) as pool:
            pending = pool.imap_unordered(_write_chunk, chunks)
            meanwhile()
            for done in pending:
                progress(done)
    finally:
        _SHARED.clear()


@contextlib.contextmanager
def _forking(context, jobs: int):
    """A worker pool; Ctrl-C during the forks waits until they are done (Python would
    otherwise swallow it inside the fork handlers), then interrupts as usual."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        pool = context.Pool(jobs, initializer=_ignore_interrupts)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    with pool:
        yield pool


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the parent, which stops the pool and cleans up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
