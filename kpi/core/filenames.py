"""Scorecard file names: one file per agent, valid on Windows, macOS and Linux.

A scorecard goes to ``scorecards/<team>/<agent id>-<name>.xlsx``. Ids, names and
teams are typed by people, so a name part may hold what a file system refuses
(``/ \\ : * ? " < > |``, control characters, a trailing dot or space, ``..``,
``CON`` and the other names Windows reserves), or be longer than a file system
allows, and two different ids may look alike once cleaned (``KF/2001`` and
``KF_2001``) or differ only by case, which Windows and macOS do not tell apart.

The rules, pure and deterministic:

- a character no file system takes becomes ``_``; ends are trimmed of spaces and dots;
- a team folder or an id part that cleaning changed, or that would be a reserved
  name, gets ``~`` and a short hash of the exact text (``KF_2001~1a2b3c4d``), so
  the exact id, not its look, picks the file;
- names that still meet (compared case-insensitively, after NFKC) all get the
  hash of their exact id;
- the name part is cut (never the id) so a file name stays within
  :data:`FILE_BYTES` bytes of UTF-8 and a team folder within :data:`FOLDER_BYTES`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from pathlib import PurePosixPath

ROOT = "scorecards"
SUFFIX = ".xlsx"
FILE_BYTES = 150     # a file name (stem, hash and suffix) at most; file systems allow 255
FOLDER_BYTES = 90    # a team folder at most: with the file, well under Windows' 260-character paths
HASH_CHARS = 8
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"{kind}{n}" for kind in ("COM", "LPT") for n in "123456789¹²³")}


def card_paths(agents: Iterable[tuple[str, str, str]]) -> dict[str, PurePosixPath]:
    """agent id → ``scorecards/<team>/<file>.xlsx`` for ``(agent id, name, team)`` triples with
    distinct ids: every path distinct (case-insensitively), inside ``scorecards``, valid."""
    agents = list(agents)
    teams = {team: _part(team, FOLDER_BYTES) for team in dict.fromkeys(team for _, _, team in agents)}
    folders = _distinct(teams, lambda team, chars: _hashed(teams[team][0], team, chars))
    members: dict[str, dict[str, tuple[str, bool, str]]] = {}
    for agent_id, name, team in agents:
        id_part, changed = _part(agent_id, FILE_BYTES)
        members.setdefault(_fold(folders[team]), {})[agent_id] = (id_part, changed, _name_part(id_part, name))
    paths = {}
    folder_of = {agent_id: folders[team] for agent_id, _, team in agents}
    for files in members.values():
        stems = _distinct(files, lambda agent_id, chars: _file(*files[agent_id][::2], agent_id, chars))
        for agent_id, stem in stems.items():
            paths[agent_id] = PurePosixPath(ROOT, folder_of[agent_id], stem + SUFFIX)
    return paths


def card_path(agent_id: str, name: str, team: str) -> PurePosixPath:
    """The path of one agent's scorecard, as :func:`card_paths` gives it when no other agent's meets it."""
    return card_paths([(agent_id, name, team)])[agent_id]


def digest(text: str, chars: int = HASH_CHARS) -> str:
    """A short hash of the exact ``text``: what tells apart names that cleaning made alike."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:chars]


def valid(component: str) -> bool:
    """Whether ``component`` is a file or folder name every supported system takes as given."""
    return (bool(component) and component not in (".", "..") and not _UNSAFE.search(component)
            and component == component.strip(" .") and len(component.encode("utf-8")) <= 255
            and not _reserved(component) and _clean(component) == component)


def _name_part(id_part: str, name: str) -> str:
    """The name cleaned and cut so that id part, hash, name and suffix fit :data:`FILE_BYTES`."""
    room = FILE_BYTES - len(f"{id_part}~{'0' * 16}-{SUFFIX}".encode("utf-8"))
    return _cut(_clean(name), max(room, 0)).strip(" .")


def _file(id_part: str, name_part: str, agent_id: str, chars: int) -> str:
    """A file stem: the id part (with the hash of the exact id when ``chars``), then the name."""
    stem = _hashed(id_part, agent_id, chars)
    return f"{stem}-{name_part}" if name_part else stem


def _hashed(part: str, text: str, chars: int) -> str:
    return f"{part}~{digest(text, chars)}" if chars else part


def _distinct(parts: dict[str, tuple], make) -> dict[str, str]:
    """exact text → name made by ``make(text, hash chars)``: hashed (``chars`` > 0) when
    cleaning changed the text (``parts[text][1]``), and, for names that meet
    case-insensitively, with longer hashes until none meet."""
    longer = {0: HASH_CHARS, HASH_CHARS: 16, 16: 64, 64: 64}
    chars = {text: HASH_CHARS if part[1] else 0 for text, part in parts.items()}
    while True:
        chosen = {text: make(text, chars[text]) for text in parts}
        seen: dict[str, list[str]] = {}
        for text, name in chosen.items():
            seen.setdefault(_fold(name), []).append(text)
        meeting = [text for texts in seen.values() if len(texts) > 1 for text in texts]
        if not meeting or all(chars[text] == 64 for text in meeting):  # 64: the whole sha256, distinct
            return chosen
        for text in meeting:
            chars[text] = longer[chars[text]]


def _part(text: str, limit: int) -> tuple[str, bool]:
    """(``text`` cleaned and cut to ``limit`` bytes less room for a hash, whether that changed it)."""
    cleaned = _cut(_clean(text), limit - HASH_CHARS * 2 - 2).strip(" .") or "_"
    if _reserved(cleaned):
        cleaned = "_" + cleaned
    return cleaned, cleaned != text


def _clean(text: str) -> str:
    """Characters no file system takes (and invisible or unencodable ones) as ``_``; ends trimmed."""
    text = _UNSAFE.sub("_", unicodedata.normalize("NFC", text))
    if not text.isascii():
        text = "".join("_" if unicodedata.category(ch) in ("Cf", "Cs", "Co", "Cn", "Zl", "Zp") else ch for ch in text)
    return text.strip(" .")


def _cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8, at a character boundary."""
    encoded = text.encode("utf-8")
    return text if len(encoded) <= limit else encoded[:limit].decode("utf-8", "ignore")


def _reserved(component: str) -> bool:
    """A name Windows keeps for a device (``CON``, ``com1.txt``, ``NUL .x`` …), whatever follows a dot."""
    return component.split(".", 1)[0].rstrip(" ").upper() in _RESERVED


def _fold(text: str) -> str:
    """What two names are compared by on a case-insensitive, normalising file system."""
    return unicodedata.normalize("NFKC", text).casefold()
