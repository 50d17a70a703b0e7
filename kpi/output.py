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
from collections.abc import Iterator
from pathlib import Path


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


def clear_abandoned(destination: Path, name: str, suffix: str = "") -> None:
    """Clear what killed runs on this host left beside ``destination`` (staged as ``name``,
    ending in ``suffix``): staging entries are removed; an output moved aside (``.old-``)
    comes back if nothing replaced it."""
    own = re.compile(rf"\.{re.escape(name)}\.(tmp|old)-{re.escape(_host())}-(\d+)-.*{re.escape(suffix)}")
    for entry in sorted(destination.parent.iterdir()) if destination.parent.is_dir() else ():
        found = own.fullmatch(entry.name)
        if found is None or _alive(int(found.group(2))):
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
