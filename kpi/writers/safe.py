"""Output hygiene shared by the writers: safe file names and CSV cells."""

from __future__ import annotations

import re

_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def filename(text: str) -> str:
    """A file name part that is valid on Windows, macOS and Linux."""
    cleaned = _UNSAFE_NAME.sub("_", text).strip(" .")
    return cleaned[:80] or "_"


def csv_cell(text: str) -> str:
    """Neutralise text a spreadsheet would run as a formula (OWASP CSV injection)."""
    return "'" + text if text.startswith(_FORMULA_START) else text
