"""Returned scorecards checked against the ledger: the card's seal and cell tags decide what
it says (:mod:`kpi.core.seal`); valid answers are recorded (:func:`kpi.ledger.answers.answer`)."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import NamedTuple

from kpi.core import seal
from kpi.core.errors import RETURNED, Problem, refusal
from kpi.ledger.answers import Answer, answer, answer_word
from kpi.ledger.db import Ledger
from kpi.ledger.revisions import ReviewError, require_open, require_scored, results_of


class Collected(NamedTuple):
    """The outcome of reading returned scorecards."""

    recorded: list[Answer]
    unanswered: list[str]                      # files without an answer yet
    refused: list[Problem]                     # each card refused: its file, why (source RETURNED)


def check_card(ledger: Ledger, period: str, card, stored: dict[str, dict], latest) -> tuple[str, dict] | Answer | None:
    """A returned card as an Answer, None when unanswered, or (key, params) why it is refused.

    What the card says is decided by the ledger and the card's seal (:mod:`kpi.core.seal`), never
    by its defined names or formulas: the seal is made again from the ledger's fingerprint of
    the revision the card claims, and every cell must carry the tag kpi gave it."""
    if card.period != period:
        return "card_other_period", {"agent": card.agent_id, "period": card.period}
    if card.agent_id not in stored:
        return "unknown_agent", {"agent": card.agent_id, "period": period}
    issued = ledger.rows("SELECT s.fingerprint FROM results s JOIN revisions r ON r.id = s.revision_id "
                         "WHERE r.period = ? AND r.revision = ? AND s.agent_id = ?", period, card.revision, card.agent_id)
    expected = issued and seal.card_seal(ledger.secret, card.agent_id, period, card.revision, issued[0]["fingerprint"])
    if not expected or not hmac.compare_digest(expected, card.claim.seal):
        return "card_seal_invalid", {"agent": card.agent_id, "cell": f"{card.sheet}!H1", "revision": card.revision}
    if card.revision != latest["revision"] and issued[0]["fingerprint"] != stored[card.agent_id]["fingerprint"]:
        return "card_outdated", {"agent": card.agent_id, "revision": card.revision, "latest": latest["revision"]}
    edited = _edited_cell(ledger.secret, card, stored[card.agent_id]["result"]) or _moved_name(card)
    if edited:
        key, params = edited
        return key, {"agent": card.agent_id, **params}
    return _card_answer(card)


def _edited_cell(secret: bytes, card, result: dict) -> tuple[str, dict] | None:
    """The first cell (in reading order) that is not what kpi wrote: a changed value, a formula
    typed over a figure, a value where kpi wrote none, a value deleted. A scored cell names
    the ledger's value."""
    expected = {f"points_{item}": points for item, points in result["points"].items()}
    expected |= {"total": result["total"], "pay": result["total_pay"], "multiplier": result["multiplier"],
                 "base_pay": result["base_pay"], "performance_pay": result["performance_pay"]}
    places = {f"{column}{row}": entry for row, entries in card.tags.items() for column, entry in entries.items()}
    for ref in sorted(set(card.cells) | set(places), key=_reading_order):
        role, tag = places.get(ref, ("", ""))
        if role in seal.SLOTS:
            if not hmac.compare_digest(seal.cell_tag(secret, card.claim.seal, ref, role, "slot", ""), tag):
                return "card_cell_edited", {"cell": f"{card.sheet}!{ref}", "now": _shown(card.cells.get(ref))}
            continue
        cell = card.cells.get(ref)
        genuine = cell is not None and tag and cell.kind in ("s", "n", "f") and hmac.compare_digest(
            seal.cell_tag(secret, card.claim.seal, ref, role, cell.kind, _readable(cell)), tag)
        if genuine:
            continue
        if role in expected:
            return "card_edited", {"cell": f"{card.sheet}!{ref}", "was": expected[role], "now": _shown(cell)}
        return "card_cell_edited", {"cell": f"{card.sheet}!{ref}", "now": _shown(cell)}
    return None


def _moved_name(card) -> tuple[str, dict] | None:
    """The first ``kpi_*`` defined name deleted or pointed elsewhere than kpi wrote it (the names
    decide nothing, but a card whose names were changed is not the card kpi issued)."""
    wanted = {"kpi_period": f'"{card.period}"', "kpi_revision": str(card.revision)}
    for row, entries in sorted(card.tags.items()):
        for column, (role, _) in entries.items():
            if role:
                wanted[f"kpi_{role}"] = f"{card.sheet}!{column}{row}"
    for name, want in wanted.items():
        now = card.names.get(name)
        if now is None or _name_target(now) != _name_target(want):
            cell = want if "!" in want else f"{card.sheet}!H1"
            return "card_name_changed", {"name": name, "cell": cell, "now": now or ""}
    return None


def _name_target(text: str) -> str:
    """A defined name's formula compared loosely: without ``=``, ``$`` and the quotes around a sheet."""
    return text.lstrip("=").replace("$", "").replace("'", "")


def _readable(cell) -> str:
    """A cell's content as tagged; a number that is none reads as text (and so fails its tag)."""
    if cell.kind == "n":
        try:
            float(cell.value)
        except ValueError:
            return "nan"
    return cell.value


def _reading_order(ref: str) -> tuple[int, int]:
    letters = ref.rstrip("0123456789")
    return int(ref[len(letters):]), sum((ord(c) - 64) * 26 ** i for i, c in enumerate(reversed(letters)))


def _shown(cell) -> str:
    """A cell's content as the refusal shows it: a formula with its ``=``, a whole number without ``.0``."""
    if cell is None:
        return ""
    if cell.kind == "f":
        return "=" + cell.value.lstrip("=")
    if cell.kind == "n":
        try:
            number = float(cell.value)
            return str(int(number)) if number.is_integer() else repr(number)
        except ValueError:
            return cell.value
    return cell.value


def _card_answer(card) -> Answer | tuple[str, dict] | None:
    _, given = card.slot("answer")
    _, reason = card.slot("reason")
    if not given:
        return None
    answer = answer_word(given)
    if answer is None:
        return "card_bad_answer", {"agent": card.agent_id, "value": given}
    if answer == "object" and not reason.strip():
        return "reason_required", {"agent": card.agent_id}
    return Answer(card.agent_id, answer, reason if answer == "object" else "", card.file)


def collect(ledger: Ledger, period: str, cards: Sequence, by: str | None = None) -> Collected:
    """Check every returned card against the ledger and record the valid answers."""
    ledger.require_intact(period)
    require_open(ledger, period)
    latest = require_scored(ledger, period)
    stored = results_of(ledger, latest["id"], explain=False)
    outcome = Collected([], [], [])
    for card in cards:
        checked = check_card(ledger, period, card, stored, latest)
        if checked is None:
            outcome.unanswered.append(card.file)
        elif isinstance(checked, Answer):
            try:
                answer(ledger, period, checked, card.revision, checked=True, by=by)
            except ReviewError as refused:   # e.g. a re-score changed the result meanwhile
                outcome.refused.append(refusal(refused.code, refused.params, card.file, RETURNED))
                continue
            outcome.recorded.append(checked)
        else:
            outcome.refused.append(refusal(*checked, card.file, RETURNED))
    return outcome
