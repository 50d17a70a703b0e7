"""Writing a set of output files all at once or not at all (an edge).

Files are written into a hidden staging directory beside the destination and
moved into place only when every file is complete; on any failure, or Ctrl-C,
the staging directory is removed and the destination is left as it was.

A process killed outright (``kill -9``, a power cut) cannot clean up after
itself. Staging names therefore say which host and process made them
(``.out.tmp-HOST-PID-xxxx``); the next run on that host removes those whose
process is gone, and puts back a previous output that was moved aside and not
yet replaced. Folders of other hosts (a shared drive) are left alone.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from kpi.io import testhooks


@contextlib.contextmanager
def staged(destination: Path) -> Iterator[Path]:
    """Yield a staging directory; on success it replaces ``destination``."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    clear_abandoned(destination, destination.name)
    staging = Path(tempfile.mkdtemp(prefix=_prefix(destination.name, "tmp"), dir=destination.parent))
    try:
        yield staging
        _swap(staging, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _prefix(name: str, kind: str) -> str:
    """``.NAME.KIND-HOST-PID-``: whose staging entry this is."""
    return f".{name}.{kind}-{_host()}-{os.getpid()}-"


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname()) or "host"


def clear_abandoned(destination: Path, name: str, suffix: str = "",
                    committed: Callable[[Path], bool] | None = None) -> None:
    """Clear what killed runs on this host left beside ``destination`` (staged as ``name``,
    ending in ``suffix``): staging entries are removed; an output moved aside (``.old-``)
    comes back if nothing replaced it; a complete output whose ledger revision was committed
    (``.ready-``, ``committed(entry)`` true) is put in place, the killed run's last step."""
    own = re.compile(rf"\.{re.escape(name)}\.(tmp|old|ready)-{re.escape(_host())}-(\d+)-.*{re.escape(suffix)}")
    entries = sorted(destination.parent.iterdir()) if destination.parent.is_dir() else []
    for entry in entries:   # first the outputs a ledger already counts
        found = own.fullmatch(entry.name)
        if found is None or found.group(1) != "ready" or _alive(int(found.group(2))):
            continue
        if committed is not None and committed(entry):
            _swap(entry, destination)
        else:
            shutil.rmtree(entry, ignore_errors=True)
    for entry in entries:
        found = own.fullmatch(entry.name)
        if found is None or found.group(1) == "ready" or not os.path.lexists(entry) or _alive(int(found.group(2))):
            continue
        if found.group(1) == "old" and not destination.exists():
            os.replace(entry, destination)
        elif entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (a process of another user counts as running).
    On Windows every process counts as running: ``os.kill`` there ends a process, it cannot probe one."""
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _swap(staging: Path, destination: Path) -> None:
    """Put ``staging`` where ``destination`` is, keeping the old one until the move succeeded."""
    old = None
    if destination.exists():
        old = Path(tempfile.mkdtemp(prefix=_prefix(destination.name, "old"), dir=destination.parent))
        os.rmdir(old)
        os.replace(destination, old)
    try:
        os.replace(staging, destination)
    except OSError:
        if old is not None:
            os.replace(old, destination)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


class Stage:
    """An output being made for a ledger revision (:func:`staged_for_ledger`): written into
    :attr:`path`, marked :meth:`ready` inside the ledger's transaction, published after the commit."""

    def __init__(self, path: Path, destination: Path):
        self.path, self.destination = path, destination
        self.committed = self.published = False

    def ready(self) -> None:
        """The output is complete: renamed ``.ready-`` (what a later run puts in place if this one
        is killed after the ledger committed)."""
        ready = self.path.with_name(self.path.name.replace(".tmp-", ".ready-", 1))
        os.replace(self.path, ready)
        self.path = ready

    def publish(self) -> None:
        """Put the output in place (the ledger has committed its revision)."""
        self.committed = True
        testhooks.reached("before_swap")
        _swap(self.path, self.destination)
        self.published = True


@contextlib.contextmanager
def staged_for_ledger(destination: Path, committed: Callable[[Path], bool]) -> Iterator[Stage]:
    """Like :func:`staged`, for an output that goes with a ledger revision. The caller writes
    into ``stage.path``, calls ``stage.ready()`` inside its ledger transaction, then, once the
    ledger committed, ``stage.publish()``. A kill before the commit leaves the previous output
    (the ``.ready-`` folder is removed by the next run); a kill after it leaves a ``.ready-``
    folder that the next run on this host puts in place, since ``committed(folder)`` says the
    ledger counts it: the output then agrees with the ledger again."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    clear_abandoned(destination, destination.name, committed=committed)
    stage = Stage(Path(tempfile.mkdtemp(prefix=_prefix(destination.name, "tmp"), dir=destination.parent)),
                  destination)
    try:
        yield stage
        if not stage.published:
            stage.publish()
    finally:
        if not stage.committed:
            shutil.rmtree(stage.path, ignore_errors=True)


def link(source: Path | str, target: Path | str) -> None:
    """Put the file ``source`` at ``target`` as it is (same bytes, same mtime): a hard link, or
    a copy where the filesystem has none."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


@contextlib.contextmanager
def staged_file(destination: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``destination``; on success it replaces it."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    clear_abandoned(destination, destination.stem, destination.suffix)
    handle, name = tempfile.mkstemp(prefix=_prefix(destination.stem, "tmp"), suffix=destination.suffix,
                                    dir=destination.parent)
    os.close(handle)
    try:
        yield Path(name)
        os.replace(name, destination)
    finally:
        if os.path.exists(name):
            os.unlink(name)
