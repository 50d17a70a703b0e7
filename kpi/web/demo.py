"""``kpi serve --demo``: the example month in a temporary ledger, with an account per role.

The example sheet (examples/2026-09, shipped in the wheel as kpi/web/demo/) is stored as
each team's sheet, as if each supervisor had uploaded it, and scored from them.
"""

from __future__ import annotations

import datetime
from importlib import resources
from pathlib import Path
from typing import NamedTuple

from kpi.ledger import accounts, db as ledger
from kpi.core import calendar
from kpi.io import config
from kpi.pipeline import team_sheets as sheets

PERIOD = "2026-09"
PASSWORD = "demo-pass-2026"
EXAMPLE = f"input-{PERIOD}.xlsx"


class Demo(NamedTuple):
    db_path: Path
    period: str
    accounts: list[tuple[str, str]]     # (name, role)
    agents: int
    today: datetime.date


def example_sheet() -> Path:
    """The example month's sheet: shipped in the package, or in the checkout's examples/."""
    shipped = Path(str(resources.files("kpi.web"))) / "demo" / EXAMPLE
    if shipped.exists():
        return shipped
    return Path(__file__).resolve().parents[2] / "examples" / PERIOD / EXAMPLE


def load(folder: str | Path, config_dir=None, lang: str = "zh") -> Demo:
    """A ledger in ``folder`` holding the scored example month and the demo accounts."""
    folder = Path(folder)
    db_path = folder / "kpi.db"
    ruleset = config.load(config_dir, PERIOD)
    content = example_sheet().read_bytes()
    made: list[tuple[str, str]] = []
    with ledger.Ledger(db_path) as book, ledger.acting("demo"):
        teams = _all_teams(example_sheet(), ruleset)
        stored = sheets.upload(book, ruleset, EXAMPLE, content, teams)
        report = sheets.score(book, ruleset, folder / "kpi-out" / PERIOD, lang)
        for name, role, led in [("hr", "hr", ()), ("manager", "manager", ())] + [
                (f"sup{index}", "supervisor", (team,)) for index, team in enumerate(teams, start=1)]:
            accounts.add(book, name, role, PASSWORD, led)
            made.append((name, role))
        for row in report.rows:
            accounts.add(book, row.agent_id, "agent", PASSWORD, agent_id=row.agent_id)
            made.append((row.agent_id, "agent"))
    deadline = calendar.for_rules(ruleset).date("confirm_deadline")
    return Demo(db_path, PERIOD, made, sum(s.agents for s in stored), deadline)


def _all_teams(path: Path, ruleset) -> list[str]:
    from kpi.pipeline import month

    return sorted({agent.team for agent in month.validate(path, ruleset).agents})
