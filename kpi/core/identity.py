"""One agent, one identity: how agent ids, team names and levels are compared.

Shops type ids and team names on phones, in WPS with a Chinese input method, or
copy them from chat: ``ＫＦ１００３`` (full-width), ``KF1003`` and ``KF1003\u200b``
(a zero-width space from a chat window) are the same agent; ``售前1组`` and
``售前１组`` the same team; ``Ｐ１`` the level ``P1``. :func:`fold` gives the one
form kpi keeps for them (Unicode NFKC, invisible format characters removed,
trimmed). Case is kept as typed, since ``kf1003`` is what a supervisor sees, but
two ids that differ only by case in one month are refused as a probable
duplicate: :func:`key` is what ids are compared by.
"""

from __future__ import annotations

import unicodedata

FOLDED_FIELDS = ("agent_id", "team", "level")


def fold(text: str) -> str:
    """``text`` as kpi keeps an id, a team or a level: NFKC, no format characters, trimmed."""
    folded = unicodedata.normalize("NFKC", text)
    if not folded.isascii():
        folded = "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")
    return folded.strip()


def key(text: str) -> str:
    """What two ids are compared by: folded, then case-folded (``KF1003`` = ``kf1003``)."""
    return fold(text).casefold()


def fold_text(text: object) -> str:
    """Text as compared: NFKC (full-width brackets, colons and digits become ASCII), trimmed."""
    return unicodedata.normalize("NFKC", str(text or "")).strip()
