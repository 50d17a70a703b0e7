"""``results.json``: every agent's points, total, pay and explanations."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from kpi import explain, numbers, rules
from kpi.scoring import AgentResult, ItemResult


def document(ruleset: rules.Ruleset, results: Sequence[AgentResult], lang: str, input_info: dict,
             revision: int | None = None, texts: Sequence[dict[str, str]] | None = None) -> dict:
    """The JSON document as a dict whose ``agents`` is a lazy iterator (one agent built at a
    time while :func:`write` streams them); ``revision`` is the ledger's, ``texts`` the
    explanations of each agent in ``lang`` (computed here when not given)."""
    texts = texts if texts is not None else explain.texts(ruleset, results, [lang])[lang]
    version = ruleset.version
    return {
        "period": ruleset.period,
        "revision": revision,
        "rules": {"weights_effective": version.weights_effective,
                  "pay_bands_effective": version.pay_bands_effective, "sha256": version.sha256},
        "input": input_info,
        "lang": lang,
        "agents": (_agent(ruleset, result, lang, text) for result, text in zip(results, texts)),
    }


def _agent(ruleset: rules.Ruleset, result: AgentResult, lang: str, text: dict[str, str]) -> dict:
    agent, pay = result.agent, result.pay
    return {
        "agent_id": agent.agent_id, "name": agent.name, "team": agent.team, "level": agent.level,
        "points": {item.item_id: numbers.json_number(item.points) for item in result.items},
        "total": numbers.json_number(result.total),
        "band": pay.band_label(lang),
        "multiplier": numbers.json_number(pay.multiplier),
        "base_pay": numbers.money(pay.base_pay),
        "performance_pay": numbers.money(pay.performance_pay),
        "total_pay": numbers.money(pay.total_pay),
        "level_change": pay.level_change.value,
        "level_change_label": pay.level_change(lang),
        "explain": text,
        "records": [_record(ruleset, item, lang) for item in result.items],
    }


def _record(ruleset: rules.Ruleset, item: ItemResult, lang: str) -> dict:
    """The explanation record with exact values as strings."""
    return {
        "item": item.item_id, "group": item.group, "weight": numbers.plain(item.weight),
        "inputs": {name: (None if value is None else numbers.plain(value)) for name, value in item.inputs},
        "measure": None if item.measure is None else numbers.plain(item.measure),
        "tier": item.tier, "tier_label": item.tier_label(lang) if item.tier_label else None,
        "steps": item.steps, "points": numbers.plain(item.points), "notes": list(item.notes),
    }


def write(path: Path, doc: dict) -> None:
    """The document with one agent per line: readable, and fast for 100,000 agents."""
    head = json.dumps({key: value for key, value in doc.items() if key != "agents"}, ensure_ascii=False, indent=1)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(head[:-2] + ',\n "agents": [\n')
        for index, agent in enumerate(doc["agents"]):
            handle.write(("," if index else "") + json.dumps(agent, ensure_ascii=False, separators=(",", ":")) + "\n")
        handle.write("]}\n")
