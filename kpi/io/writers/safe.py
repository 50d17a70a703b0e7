"""Output hygiene shared by the writers: safe file names and CSV cells."""

from __future__ import annotations

import re

_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def filename(text: str) -> str:
    """A file name part that is valid on Windows, macOS and Linux."""
    cleaned = _UNSAFE_NAME.sub("_", text).strip(" .")
    return cleaned[:80] or "_"


# A separator of any locale's CSV (comma, semicolon, tab, pipe), spaces or quotes, then a trigger:
# opened with that separator, the text after it starts a cell of its own.
_EMBEDDED = re.compile(r"([,;\t|][\s\"']*)([=+\-@\t\r])")


def csv_cell(text: str) -> str:
    """Neutralise text a spreadsheet would run as a formula (OWASP CSV injection), in whichever
    locale's Excel opens the file: a trigger at the start, or after another locale's separator
    (``x;=1+1`` opened with ``;`` as separator), gets a ``'`` before it."""
    if _EMBEDDED.search(text):
        text = _EMBEDDED.sub(r"\1'\2", text)
    return "'" + text if text.startswith(_FORMULA_START) else text
