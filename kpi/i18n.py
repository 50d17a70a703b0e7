"""Every user-facing text, in zh-CN (default) and English, from one file.

Texts live in ``kpi/messages.toml`` as ``key = { zh = "...", en = "..." }`` with
``{name}`` placeholders. Labels of rules (items, tiers, bands) live in the rule
config instead; this file holds the words of the program itself.
"""

from __future__ import annotations

import functools
import os
import tomllib
from importlib import resources

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
