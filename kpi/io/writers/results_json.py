"""``results.json``: every agent's points, total, pay and explanations."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import orjson

from kpi.core import numbers, rules
from kpi.core.scoring import AgentResult, ItemResult


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


def line(ruleset: rules.Ruleset, result: AgentResult, lang: str, text: dict[str, str]) -> bytes:
    """One agent as one line of JSON (UTF-8, no spaces); ``text`` is its explanations in ``lang``."""
    return orjson.dumps(_agent(ruleset, result, lang, text))


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


class Taken(NamedTuple):
    """In place of a line: the agent whose line the earlier results.json holds, to copy as it is."""

    agent_id: str


class Earlier(NamedTuple):
    """A results.json written before: everything but its agents, and where each agent's line lies."""

    path: Path
    head: dict
    spans: dict[str, tuple[int, int]]

    def raw(self, agent_ids) -> dict[str, bytes]:
        """agent id → its line's bytes, for those of ``agent_ids`` the file has; lines that lie
        close together (as consecutive agents do) are read in one go."""
        found = {}
        with open(self.path, "rb") as handle:
            for run in _runs(sorted((self.spans[a], a) for a in agent_ids if a in self.spans)):
                first = run[0][0][0]
                handle.seek(first)
                block = handle.read(run[-1][0][0] + run[-1][0][1] - first)
                for (start, length), agent_id in run:
                    found[agent_id] = block[start - first:start - first + length]
        return found


def _runs(spans: list, gap: int = 1 << 14, most: int = 1 << 22):
    """``spans`` ((start, length), id), sorted, cut into runs read at once: a run ends where
    the next line starts more than ``gap`` bytes after it or where it would pass ``most`` bytes."""
    run: list = []
    for item in spans:
        (start, length), _ = item
        if run and (start - sum(run[-1][0]) > gap or start + length - run[0][0][0] > most):
            yield run
            run = []
        run.append(item)
    if run:
        yield run


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


def read_head(path: Path) -> dict | None:
    """The head of a results.json (period, revision, rules, input, lang); None if unreadable."""
    try:
        with open(path, "rb") as handle:
            return _head(handle)
    except (OSError, ValueError):
        return None


def _head(handle) -> dict:
    text = b""
    for raw in iter(handle.readline, b""):
        if raw.rstrip(b"\n") == AGENTS_START.encode():
            return json.loads(text.decode("utf-8").rstrip().rstrip(",") + "}")
        text += raw
    raise ValueError("no agents")


def write(path: Path, top: dict, lines: Iterable[bytes | Taken], earlier: Earlier | None = None) -> None:
    """The document ``top`` with the agents of ``lines`` (from :func:`line`, or :class:`Taken`
    from ``earlier`` byte for byte), one per line: readable, and written as the lines come,
    so 100,000 agents never sit in memory at once."""
    text = json.dumps(top, ensure_ascii=False, indent=1)
    with open(path, "wb") as handle:
        handle.write((text[:-2] + ",\n" + AGENTS_START + "\n").encode("utf-8"))
        for index, agent in enumerate(_bytes(lines, earlier)):
            if index:
                handle.write(b",")
            handle.write(agent)
            handle.write(b"\n")
        handle.write(b"]}\n")


def _bytes(lines: Iterable[bytes | Taken], earlier: Earlier | None, batch: int = 2000):
    """The lines, those :class:`Taken` read from ``earlier`` a batch at a time."""
    for taken, group in itertools.groupby(lines, key=lambda line: isinstance(line, Taken)):
        if not taken:
            yield from group
            continue
        ids = (line.agent_id for line in group)
        while chunk := list(itertools.islice(ids, batch)):
            found = earlier.raw(chunk)
            yield from (found[agent_id] for agent_id in chunk)
