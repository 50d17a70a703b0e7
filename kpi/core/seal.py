"""A scorecard's seal: what makes a returned card verifiable (pure: hashing only).

The seal is an HMAC-SHA256, keyed by the ledger's secret, over the card's agent,
period, revision and the fingerprint of every scored value of that revision as
the ledger keeps it (:func:`kpi.ledger.revisions.fingerprint`): only kpi, holding the
ledger, can make it, and ``kpi collect`` recomputes it from the ledger alone.
Each cell kpi writes on the card also gets a tag, an HMAC over the seal, the
cell's place, its role (``points_conversion``, ``total``…) and its content, so
a returned card that differs from what kpi wrote is refused naming the cell.
The card's answer cells are tagged as slots: their place is fixed, their
content free.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

import orjson

VERSION = 1
COLUMN = 7                       # the hidden column H holds the seal (row 1) and each row's tags
TAG_CHARS = 16                   # 64 bits per cell: a forger gets one guess per collect
SLOTS = ("answer", "reason")     # cells the agent fills in
_ENTRY = re.compile(r"^([A-Z]{1,3})(?::([a-z_0-9]+))?=([0-9a-f]+)$")


def _mac(secret: bytes, document: object) -> str:
    return hmac.new(secret, orjson.dumps(document, option=orjson.OPT_SORT_KEYS), hashlib.sha256).hexdigest()


def card_seal(secret: bytes, agent_id: str, period: str, revision: int, fingerprint: str) -> str:
    """The seal of the card of ``agent_id`` for ``period`` revision ``revision`` whose scored
    values have ``fingerprint``."""
    return _mac(secret, {"v": VERSION, "agent": agent_id, "period": period, "revision": revision,
                         "fingerprint": fingerprint})


def content(kind: str, value: object) -> str:
    """A cell's content as it is tagged: numbers by their float's repr (what a workbook stores
    reads back the same), formulas without ``=``, ``$``, spaces and case, text as it is."""
    if kind == "n":
        return repr(float(value))
    if kind == "f":
        return re.sub(r"[\s$]", "", str(value)).lstrip("=").upper()
    return str(value)


def cell_tag(secret: bytes, seal: str, ref: str, role: str, kind: str, value: object) -> str:
    """The tag of cell ``ref`` (A1 style) holding ``value`` of ``kind`` (s | n | f | slot)."""
    text = "" if kind == "slot" else content(kind, value)
    return _mac(secret, [seal, ref, role, kind, text])[:TAG_CHARS]


class CellTags:
    """The tags of one card's cells, each what :func:`cell_tag` gives, byte for byte, made cheaply.

    HMAC-SHA256 (RFC 2104) hashes the key padded with ``ipad``, then the message, and hashes
    that digest after the key padded with ``opad``. The two keyed SHA-256 states are made once
    per secret and the card's seal, the start of every tagged document, is hashed once per
    card: a tag then hashes only its cell's part of the document (copies of the states)."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, secret: bytes, seal: str):
        inner, self._outer = _keyed(secret)
        self._inner = inner.copy()
        self._inner.update(orjson.dumps([seal])[:-1] + b",")   # '["<seal>",': the document's start

    def tag(self, ref: str, role: str, kind: str, value: object) -> str:
        """:func:`cell_tag` of cell ``ref`` holding ``value`` of ``kind``, under this card's seal."""
        return self.tags([(ref, role, kind, value)])[0]

    def tags(self, cells: Iterable[tuple[str, str, str, object]]) -> list[str]:
        """:meth:`tag` of each of ``cells`` (ref, role, kind, value), in one loop."""
        start, outer, dumps, found = self._inner, self._outer, orjson.dumps, []
        for ref, role, kind, value in cells:
            if kind == "s" and value.__class__ is str:
                text = value
            else:
                text = "" if kind == "slot" else content(kind, value)
            inner = start.copy()
            inner.update(dumps([ref, role, kind, text])[1:])
            done = outer.copy()
            done.update(inner.digest())
            found.append(done.hexdigest()[:TAG_CHARS])
        return found


@functools.lru_cache(maxsize=4)
def _keyed(secret: bytes) -> tuple:
    """SHA-256 states that have hashed ``secret`` padded with HMAC's ipad and opad."""
    block = hashlib.sha256().block_size
    key = (hashlib.sha256(secret).digest() if len(secret) > block else secret).ljust(block, b"\0")
    return (hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD)))


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def claim(agent_id: str, period: str, revision: int, seal: str) -> str:
    """The text of the seal cell: who, which month and revision the card claims, and its seal."""
    return orjson.dumps({"kpi_seal": VERSION, "agent": agent_id, "period": period, "revision": revision,
                         "seal": seal}).decode()


class Claim(NamedTuple):
    agent_id: str
    period: str
    revision: int
    seal: str


def read_claim(text: object) -> tuple[Claim | None, str]:
    """The claim at the start of the title row's tag cell (None if there is none) and the rest."""
    try:
        data, end = json.JSONDecoder().raw_decode(str(text))
        return Claim(str(data["agent"]), str(data["period"]), int(data["revision"]), str(data["seal"])), \
            str(text)[end:]
    except (ValueError, KeyError, TypeError, IndexError):
        return None, ""


def row_entries(text: object) -> dict[str, tuple[str, str]]:
    """A row's tag cell: column letters → (role, tag); malformed entries are left out."""
    found = {}
    for part in str(text or "").split():
        match = _ENTRY.match(part)
        if match:
            found[match.group(1)] = (match.group(2) or "", match.group(3))
    return found


def row_text(entries: list[tuple[str, str, str]]) -> str:
    """The tag cell of a row from (column letters, role, tag)."""
    return " ".join(f"{col}{':' + role if role else ''}={tag}" for col, role, tag in entries)


class Sealer(NamedTuple):
    """What seals the cards of a run: the ledger's secret and how a result's fingerprint is made."""

    secret: bytes
    fingerprint: Callable[[object], str]
