"""Writing the month's scorecards: only those that changed (an edge).

Each scorecard has a key (:func:`kpi.io.reuse.card_key`: everything it shows). When the ledger says
an agent's key is the same as last revision's and the file is still the one
written then (same size and mtime), the new output directory gets a hard link
to it (a copy with its times where links are impossible): same bytes, same
mtime, no work. The others are written (by :mod:`kpi.io.workers` when on several cores).
"""

from __future__ import annotations

import gc
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from kpi.core import calendar, explain, rules
from kpi.io import output, reuse
from kpi.core.scoring import AgentResult
from kpi.io.writers import packaging, scorecard


class Card(NamedTuple):
    """One agent's scorecard: where it goes, its content key, the revision that wrote it."""

    result: AgentResult
    path: Path              # relative to the output directory
    key: str
    revision: int | None
    reuse: bool
    password: str | None = None


class Previous(NamedTuple):
    """What the ledger knows of an agent's last scorecard (``path`` relative to the output directory)."""

    key: str
    revision: int
    stat: str
    path: str = ""


def plan(results: Sequence[AgentResult], ruleset: rules.Ruleset, timeline: calendar.Timeline, lang: str,
         revision: int | None, previous: dict[str, Previous], old_dir: Path,
         passwords: dict[str, str] | None = None, paths: dict | None = None,
         secret: bytes | None = None) -> list[Card]:
    """Which scorecards to write (encrypted with ``passwords`` when given) and which to keep;
    ``paths``: agent id → relative path, as :func:`kpi.core.filenames.card_paths` names a month's
    cards together (one card alone when not given); ``secret``: the ledger's, which seals them."""
    cards, settings = [], reuse.run(ruleset, timeline, lang, True, secret)
    for result in results:
        password = (passwords or {}).get(result.agent.agent_id)
        if passwords is not None and not password:   # never a plain card beside encrypted ones
            raise ValueError(f"no password for agent {result.agent.agent_id}")
        given = (paths or {}).get(result.agent.agent_id)
        path = Path(*given.parts) if given is not None else scorecard.relative_path(result)
        new_key = reuse.card_key(result, settings, password)
        before = previous.get(result.agent.agent_id)
        kept = before is not None and reuse.same_file((before.key, before.stat), new_key, os.path.join(old_dir, path))
        cards.append(Card(result, path, new_key, before.revision if kept else revision, kept, password))
    return cards


def make_folders(cards: Sequence[Card], folder: Path) -> None:
    """The team folders of ``cards`` inside ``folder`` (made once, before the workers start)."""
    for directory in {(folder / card.path).parent for card in cards}:
        directory.mkdir(parents=True, exist_ok=True)


def put(card: Card, folder: Path, old_dir: Path, timeline: calendar.Timeline, explainer: explain.Explainer,
        parts: packaging.Parts | None = None, sealer=None) -> str:
    """Put ``card`` into ``folder`` (linked from ``old_dir`` when kept, else written); its file stat.

    ``explainer`` and ``parts`` are shared by the cards of a chunk: what repeats is rendered once."""
    target = folder / card.path
    if card.reuse:
        output.link(old_dir / card.path, target)
    else:
        scorecard.write(target, card.result, explainer.ruleset, timeline, explainer.lang, card.revision, explainer,
                        parts, sealer)
        if card.password:
            encrypt(target, card.password)
    return reuse.file_stat(target)


def keep(paths: Sequence[str], folder: Path, old_dir: Path) -> None:
    """Put the unchanged scorecards at ``paths`` (relative) into ``folder``, linked from ``old_dir``."""
    for directory in {os.path.dirname(path) for path in paths}:
        (folder / directory).mkdir(parents=True, exist_ok=True)
    for path in paths:
        output.link(os.path.join(old_dir, path), os.path.join(folder, path))


def encrypt(path: Path, password: str) -> None:
    """Replace ``path`` by its copy encrypted with ``password`` (Office standard encryption)."""
    import msoffcrypto.format.ooxml  # only here: it brings in the cryptography package (0.1 s to import)

    plain = io.BytesIO(path.read_bytes())
    locked = path.with_suffix(".locked")
    with open(locked, "wb") as handle:
        msoffcrypto.format.ooxml.OOXMLFile(plain).encrypt(password, handle)
    os.replace(locked, path)
    # msoffcrypto leaves reference cycles behind each file, and a month's cards are written with
    # the collector resting (kpi.io.workers): the young ones, this file's among them, go now
    gc.collect(0)
