"""``results.json``: every agent's points, total, pay and explanations."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

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


AGENTS_START = ' "agents": ['
_LINE_START = b'{"agent_id":'
_DECODER = json.JSONDecoder()


class Earlier(NamedTuple):
    """A results.json written before: everything but its agents, and where each agent's line lies."""

    path: Path
    head: dict
    spans: dict[str, tuple[int, int]]

    def lines(self, agent_ids) -> dict[str, str]:
        """agent id → line, for those of ``agent_ids`` the file has."""
        found = {}
        with open(self.path, "rb") as handle:
            for agent_id in agent_ids:
                if agent_id in self.spans:
                    start, length = self.spans[agent_id]
                    handle.seek(start)
                    found[agent_id] = handle.read(length).decode("utf-8")
        return found


def index(path: Path) -> Earlier | None:
    """Where the agents' lines of a results.json written by :func:`write` lie (the lines stay in
    the file); None if there is none or it is not one."""
    try:
        with open(path, "rb") as handle:
            head = _head(handle)
            spans, offset = {}, handle.tell()
            for raw in iter(handle.readline, b""):
                body = raw.removeprefix(b",").rstrip(b"\n")
                if body.startswith(_LINE_START):
                    agent_id = _DECODER.raw_decode(body[len(_LINE_START):len(_LINE_START) + 400].decode("utf-8", "ignore"))[0]
                    spans[agent_id] = (offset + len(raw) - len(raw.removeprefix(b",")), len(body))
                offset += len(raw)
    except (OSError, ValueError):
        return None
    return Earlier(path, head, spans)


def _head(handle) -> dict:
    text = b""
    for raw in iter(handle.readline, b""):
        if raw.rstrip(b"\n") == AGENTS_START.encode():
            return json.loads(text.decode("utf-8").rstrip().rstrip(",") + "}")
        text += raw
    raise ValueError("no agents")


def write(path: Path, top: dict, lines: Iterable[str]) -> None:
    """The document ``top`` with the agents of ``lines`` (from :func:`line`), one per line:
    readable, and written as the lines come, so 100,000 agents never sit in memory at once."""
    text = json.dumps(top, ensure_ascii=False, indent=1)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text[:-2] + ",\n" + AGENTS_START + "\n")
        for index, agent in enumerate(lines):
            handle.write(("," if index else "") + agent + "\n")
        handle.write("]}\n")
