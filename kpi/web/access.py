"""Who may do what: the one authorization mechanism of the web workspace.

Every route names an action; :func:`allowed` says which roles may take it, and
:func:`sees_agent` / :func:`sees_team` which agents and teams a user may see. A
route refuses a role with 403; an agent or team the user may not see is answered
exactly like one that does not exist (404), so nothing leaks its existence.
"""

from __future__ import annotations

from kpi.ledger.accounts import ROLES, User

EVERYONE = ROLES
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "months": EVERYONE,               # the list of months one may see
    "month": EVERYONE,                # a month's page (an agent is sent to their own card)
    "agent": EVERYONE,                # an agent's card page, within sees_agent
    "scorecard": EVERYONE,            # an agent's scorecard.xlsx, within sees_agent
    "password": EVERYONE,             # one's own password
    "answer": ("agent",),             # confirm or object to one's own result
    "upload": ("supervisor",),        # a team's sheet, within sees_team
    "import": ("supervisor",),        # platform exports into a team's sheet, within sees_team
    "score": ("supervisor", "manager"),
    "decide_objection": ("manager",),
    "decide_level": ("hr",),
    "close": ("hr",),
    "reopen": ("hr",),
    "payroll": ("hr",),
    "users": ("hr",),
}


def allowed(user: User, action: str) -> bool:
    """Whether ``user``'s role may take ``action`` (an unknown action is allowed to nobody)."""
    return user.role in PERMISSIONS.get(action, ())


def sees_team(user: User, team: str) -> bool:
    """hr and manager see every team, a supervisor their own teams, an agent none as a team."""
    if user.role in ("hr", "manager"):
        return True
    return user.role == "supervisor" and team in user.teams


def sees_agent(user: User, agent_id: str, team: str) -> bool:
    """An agent sees only themself; the others see the agents of the teams they see."""
    if user.role == "agent":
        return agent_id == user.agent_id
    return sees_team(user, team)
