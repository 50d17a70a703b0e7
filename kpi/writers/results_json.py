"""``results.json``: every agent's points, total, pay and explanations."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from kpi import numbers, rules
from kpi.scoring import AgentResult, ItemResult


def head(ruleset: rules.Ruleset, lang: str, input_info: dict, revision: int | None = None) -> dict:
    """Everything of the document but its agents; ``revision`` is the ledger's."""
    version = ruleset.version
    return {
        "period": ruleset.period,
        "revision": revision,
        "rules": {"weights_effective": version.weights_effective,
                  "pay_bands_effective": version.pay_bands_effective, "sha256": version.sha256},
        "input": input_info,
        "lang": lang,
    }


def line(ruleset: rules.Ruleset, result: AgentResult, lang: str, text: dict[str, str]) -> str:
    """One agent as one line of JSON; ``text`` is its explanations in ``lang``."""
    return json.dumps(_agent(ruleset, result, lang, text), ensure_ascii=False, separators=(",", ":"))


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


def write(path: Path, top: dict, lines: Iterable[str]) -> None:
    """The document ``top`` with the agents of ``lines`` (from :func:`line`), one per line:
    readable, and written as the lines come, so 100,000 agents never sit in memory at once."""
    text = json.dumps(top, ensure_ascii=False, indent=1)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text[:-2] + ',\n "agents": [\n')
        for index, agent in enumerate(lines):
            handle.write(("," if index else "") + agent + "\n")
        handle.write("]}\n")
