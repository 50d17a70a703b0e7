"""Writing a set of output files all at once or not at all (an edge).

Files are written into a hidden staging directory beside the destination and
moved into place only when every file is complete; on any failure, or Ctrl-C,
the staging directory is removed and the destination is left as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def staged(destination: Path) -> Iterator[Path]:
    """Yield a staging directory; on success it replaces ``destination``."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.tmp-", dir=destination.parent))
    try:
        yield staging
        _swap(staging, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap(staging: Path, destination: Path) -> None:
    """Put ``staging`` where ``destination`` is, keeping the old one until the move succeeded."""
    old = None
    if destination.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{destination.name}.old-", dir=destination.parent))
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


@contextlib.contextmanager
def staged_file(destination: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``destination``; on success it replaces it."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{destination.stem}.tmp-", suffix=destination.suffix,
                                    dir=destination.parent)
    os.close(handle)
    try:
        yield Path(name)
        os.replace(name, destination)
    finally:
        if os.path.exists(name):
            os.unlink(name)
