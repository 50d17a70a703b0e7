"""A month end keeps each agent's input only until the agent is scored (issue 21: peak memory
at 100,000 agents). The job's list is the only one holding the inputs; as each chunk's value
comes back, its agents' slots are emptied, so later chunks find every earlier agent gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import ruleset
from kpi.ledger.db import Ledger
from kpi.pipeline import month

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "2026-09" / "input-2026-09.xlsx"


@pytest.mark.parametrize("with_ledger", [False, True])
def test_each_agents_input_is_dropped_once_its_chunk_is_scored(tmp_path, monkeypatch, with_ledger):
    seen: list[tuple[int, int, list]] = []
    chunk = month._chunk

    def watched(folder, job, store, earlier, start, stop):
        seen.append((start, stop, list(job.agents)))
        return chunk(folder, job, store, earlier, start, stop)

    monkeypatch.setattr(month, "_chunk", watched)
    monkeypatch.setattr(month, "CHUNK", 2)
    rules_ = ruleset()
    if with_ledger:
        with Ledger(tmp_path / "kpi.db") as ledger:
            report = month.score(EXAMPLE, rules_, tmp_path / "out", "zh", ledger, scorecards=False)
    else:
        report = month.score(EXAMPLE, rules_, tmp_path / "out", "zh", scorecards=False)
    assert len(seen) >= 3 and len(report.rows) == seen[-1][1]
    for start, stop, agents in seen:
        assert all(agent is None for agent in agents[:start]), start   # earlier chunks' inputs are gone
        assert all(agent is not None for agent in agents[start:]), start  # this and later ones are still there
