"""Explanations in the ledger: kept as each agent's item records, rendered when shown (uses the ledger).

A result row names its records (:mod:`kpi.core.records`, table ``records``) and the rules
that scored them (table ``rulesets``) by sha256; both are stored once however many
revisions carry an agent over, and both are in the hash chain. ``kpi show``, the web
workspace and the what-if render the words from them in any language with
:mod:`kpi.core.explain`, so the ledger never holds text that a change of language or
wording would make stale. Rows stored before (schema 6 and older) keep the texts they
were stored with (table ``explanations``) and read as they did.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import orjson

from kpi.core import chain, explain, records, rules
from kpi.core.scoring import AgentResult, ItemResult
from kpi.ledger.db import Ledger

LANGS = ("zh", "en")


def stored_records(result: AgentResult) -> tuple[str, str]:
    """An agent's item records as the ledger keeps them: (name, JSON), the name being what
    :func:`kpi.core.chain.address` gives (and ``kpi verify`` checks)."""
    body = records.dumps(result.items)
    return chain.address(body), body.decode("utf-8")


def stored_ruleset(ruleset: rules.Ruleset) -> tuple[str, str]:
    """The rules as the ledger keeps them, to render records by: (name, JSON), named as records are."""
    body = ruleset.model_dump_json()
    return chain.address(body), body


def add_ruleset(db, ruleset: rules.Ruleset) -> str:
    """Store ``ruleset`` once (inside the write transaction); returns its sha256."""
    sha256, body = stored_ruleset(ruleset)
    db.execute("INSERT OR IGNORE INTO rulesets (sha256, ruleset) VALUES (?, ?)", (sha256, body))
    return sha256


_EXPLAINERS: dict[str, dict[str, explain.Explainer]] = {}   # ruleset sha256 → lang → explainer


def _explainers(ledger: Ledger, sha256: str) -> dict[str, explain.Explainer]:
    """The explainers of a stored ruleset in every language, made once per ruleset (a month's
    rows share one) and kept while kpi runs: the sha256 names the content."""
    found = _EXPLAINERS.get(sha256)
    if found is None:
        rows = ledger.rows("SELECT ruleset FROM rulesets WHERE sha256 = ?", sha256)
        ruleset = rules.Ruleset.model_validate_json(rows[0]["ruleset"])
        if len(_EXPLAINERS) >= 16:
            _EXPLAINERS.clear()
        found = _EXPLAINERS[sha256] = {lang: explain.Explainer(ruleset, lang) for lang in LANGS}
    return found


def rendered(ledger: Ledger, ruleset_sha256: str, items: str) -> dict[str, dict[str, str]]:
    """Language → item → text of stored records (``items``: their JSON), by the stored ruleset."""
    explainers = _explainers(ledger, ruleset_sha256)
    first = next(iter(explainers.values()))
    return explain.lines(explainers, records.items(first.ruleset, orjson.loads(items)))


def stored_items(ledger: Ledger, revision_id: int, agent_id: str, ruleset: rules.Ruleset) -> tuple[ItemResult, ...] | None:
    """The item records the ledger keeps for an agent of a revision, as item results with the
    words of ``ruleset``; None for a row stored before the ledger kept records."""
    rows = ledger.rows("SELECT r.items FROM results s JOIN records r ON r.sha256 = s.records_sha256 "
                       "WHERE s.revision_id = ? AND s.agent_id = ?", revision_id, agent_id)
    return records.items(ruleset, orjson.loads(rows[0]["items"])) if rows else None


def of_revision(ledger: Ledger, revision_id: int) -> Callable[[str], dict[str, dict[str, str]]]:
    """agent id → lang → item → text, for any agent of a revision, rendered when asked: what a
    reader of a whole month needs for a few agents (the what-if: those whose items moved).
    The records are read now, in one query; the function needs the ledger no more."""
    rows = ledger.rows("SELECT s.agent_id, s.ruleset_sha256, r.items, e.texts FROM results s "
                       "LEFT JOIN records r ON r.sha256 = s.records_sha256 "
                       "LEFT JOIN explanations e ON e.sha256 = s.explain_sha256 WHERE s.revision_id = ?", revision_id)
    stored = {row["agent_id"]: (row["ruleset_sha256"], row["items"], row["texts"]) for row in rows}
    explainers = {sha256: _explainers(ledger, sha256) for sha256, items, _ in stored.values() if items}

    def explained(agent_id: str) -> dict[str, dict[str, str]]:
        sha256, items, texts = stored.get(agent_id, ("", None, None))
        if items:
            found = explainers[sha256]
            return explain.lines(found, records.items(next(iter(found.values())).ruleset, orjson.loads(items)))
        return json.loads(texts) if texts else {}

    return explained
