"""What the ledger says was scored, as core records, and the what-if run over it (uses the ledger).

:func:`month` rebuilds a month's :class:`~kpi.core.agents.AgentInput` rows from the stored
inputs of its counting revision (the closed one, else the latest) beside the stored
results; :func:`whatif` is the one call the CLI (and a web page) makes: proposal
checked, months read, :func:`kpi.core.whatif.compare` run. It writes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from kpi.core import numbers, whatif
from kpi.io import proposal
from kpi.ledger import explanations, history, revisions
from kpi.core.agents import AgentInput
from kpi.core.period import Period
from kpi.ledger.db import Ledger


def month(ledger: Ledger, period: str) -> whatif.ScoredMonth:
    """The counting revision of ``period`` as stored (ReviewError when the month was never scored)."""
    period = Period(period)
    revision = history.revision_of(ledger, period, None)
    stored = revisions.results_of(ledger, revision["id"], explain=False)
    agents = tuple(agent(row) for row in stored.values())
    return whatif.ScoredMonth(period, revision["revision"], agents, {a: row["result"] for a, row in stored.items()},
                              explanations.of_revision(ledger, revision["id"]))


def agent(row: dict) -> AgentInput:
    """An agent's input rebuilt from its stored row (identity columns and the inputs document)."""
    inputs = row["inputs"]
    values = {key: (None if value is None else numbers.D(value)) for key, value in inputs["values"].items()}
    return AgentInput(row["agent_id"], row["name"], row["team"], row["level"], values,
                      inputs.get("origin", ""), dict(inputs.get("filled", {})))


def compare(ledger: Ledger, periods: Sequence[str], proposal_dir: str | os.PathLike,
           config_dir: str | os.PathLike | None) -> whatif.Comparison:
    """The what-if of ``periods`` (in order, each once) under the proposal in ``proposal_dir``
    laid over the config in use (``config_dir``, None: the shipped one). Raises ProposalError
    (every fault of the proposal) or ReviewError (a month never scored)."""
    proposed = proposal.read(proposal_dir)
    months = [month(ledger, period) for period in sorted({Period(p) for p in periods})]
    return _compare(months, lambda period: proposal.ruleset(proposed, config_dir, period))


def _compare(months, rules_of) -> whatif.Comparison:
    cache: dict = {}

    def proposed(period: str):
        if period not in cache:
            cache[period] = rules_of(period)
        return cache[period]

    return whatif.compare(months, proposed)


def scored_periods(ledger: Ledger) -> list[str]:
    """Every month with a revision in the ledger, oldest first."""
    return [row["period"] for row in ledger.rows("SELECT DISTINCT period FROM revisions ORDER BY period")]
