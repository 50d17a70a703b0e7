"""Every user-facing text, in zh-CN (default) and English, from one file.

Texts live in ``kpi/messages.toml`` as ``key = { zh = "...", en = "..." }`` with
``{name}`` placeholders. Labels of rules (items, tiers, bands) live in the rule
config instead; this file holds the words of the program itself.
"""

from __future__ import annotations

import contextlib
import functools
import gettext
import os
import tomllib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

LANGS = ("zh", "en")
DEFAULT = "zh"


@functools.cache
def _catalogue() -> dict[str, dict[str, str]]:
    text = resources.files("kpi").joinpath("messages.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def text(key: str, lang: str = DEFAULT, **params: object) -> str:
    """The message ``key`` in ``lang`` with ``params`` filled in."""
    entry = _catalogue()[key]
    template = entry.get(lang) or entry[DEFAULT]
    return template.format(**params) if params else template


def keys() -> tuple[str, ...]:
    """Every message key (the tests check each has both languages)."""
    return tuple(_catalogue())


def lang_from_env(default: str = DEFAULT) -> str:
    """The language asked for by ``KPI_LANG`` (zh or en), else ``default``."""
    value = os.environ.get("KPI_LANG", "").strip().lower()[:2]
    return value if value in LANGS else default


@contextlib.contextmanager
def click_language(lang: str) -> Iterator[None]:
    """Have click's own texts ("Usage:", "Missing option" …) in ``lang`` meanwhile.

    click marks them for gettext's default domain; kpi ships a zh_CN catalogue
    for that domain (``kpi/locale``, made by ``scripts/translate_click.py``).
    """
    gettext.bindtextdomain("messages", str(Path(str(resources.files("kpi"))) / "locale"))
    before = os.environ.get("LANGUAGE")
    os.environ["LANGUAGE"] = "zh_CN" if lang == "zh" else "en"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("LANGUAGE", None)
        else:
            os.environ["LANGUAGE"] = before
