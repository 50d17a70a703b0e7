"""Agent ids as shops type them, in the web workspace: any character an id may hold reaches
that agent's own page, card and forms, and nobody else's.

Ids are text of up to 32 characters: ``KF 1`` (a space), ``客服01`` and ``店铺:小美`` (a
旺旺 sub-account), and, less often, ``KF#1``, ``KF?1``, ``KF/1`` or ``KF%1``. Before, a
link to ``KF#1`` lost ``#1`` (a fragment), ``KF?1`` lost ``?1`` (a query) and ``KF/1`` had
no route; a card whose id or name was Chinese failed the response (a header is Latin-1).
"""

from __future__ import annotations

import html
import re
import urllib.parse

import httpx
import pytest

from helpers import example_rows, write_csv
from web_world import PASSWORD, login, served, token

from kpi.io import config
from kpi.ledger import accounts, answers, db as ledger
from kpi.pipeline import team_sheets as sheets
from kpi.web import create_app, demo

PERIOD = demo.PERIOD
ODD = ["KF#1", "KF?1", "KF/1", "KF%1", "KF%2F1", "KF 1", "客服01", "店铺:小美", "a&b", "KF", "KF/1/level", "K\"F", "K.F"]


@pytest.fixture(scope="module")
def odd_world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ids")
    rows = example_rows()
    for index, agent_id in enumerate(ODD, start=1):
        rows[index][0] = agent_id
    sheet = write_csv(folder / "odd.csv", rows)
    ruleset = config.load(None, PERIOD)
    db_path = folder / "kpi.db"
    with ledger.Ledger(db_path) as book, ledger.acting("test"):
        teams = sorted({row[2] for row in rows[1:]})
        sheets.upload(book, ruleset, "odd.csv", sheet.read_bytes(), teams)
        sheets.score(book, ruleset, folder / "out" / PERIOD, "zh")
        accounts.add(book, "manager", "manager", PASSWORD, ())
        accounts.add(book, "hr", "hr", PASSWORD, ())
        for agent_id in ODD:   # an agent's account is named by their id (kpi user import-agents)
            accounts.add(book, agent_id, "agent", PASSWORD, agent_id=agent_id)
    today = demo.load(folder / "demo").today
    app = create_app(db_path, today=lambda: today, out_root=folder / "out")
    with served(app) as base:   # a real server: the test client would decode KF%252F1 twice
        yield base, db_path


def _signed_in(world, name):
    client = httpx.Client(base_url=world[0])
    assert login(client, name).status_code == 303
    return client


def _shown_id(page: str) -> str:
    """The agent id the agent page is about (its title line)."""
    found = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
    assert found, "no title on the agent page"
    return html.unescape(found.group(1))


def test_every_link_of_the_month_leads_to_that_very_agent(odd_world):
    manager = _signed_in(odd_world, "manager")
    page = manager.get(f"/months/{PERIOD}").text
    links = {html.unescape(text): html.unescape(href) for href, text in
             re.findall(r'<a href="(/months/[^"]+/agents/[^"]+)">([^<]+)</a>', page)}
    assert set(ODD) <= set(links)
    for agent_id in ODD:
        href = links[agent_id]
        assert "#" not in href and "?" not in href, href
        response = manager.get(href)
        assert response.status_code == 200, (agent_id, href)
        assert agent_id in _shown_id(response.text)


@pytest.mark.parametrize("number", range(len(ODD)))
def test_an_agent_reaches_answers_and_downloads_their_own_card_only(odd_world, number):
    agent_id = ODD[number]
    client = _signed_in(odd_world, agent_id)
    landed = client.get(f"/months/{PERIOD}", follow_redirects=False)
    assert landed.status_code == 302
    own = client.get(landed.headers["location"])
    assert own.status_code == 200 and agent_id in _shown_id(own.text)
    english = client.get(html.unescape(re.search(r'<a href="([^"]+)" class="lang">', own.text).group(1)))
    assert english.status_code == 200 and agent_id in _shown_id(english.text) and 'lang="en"' in english.text

    card_href = html.unescape(re.search(r'href="([^"]+/scorecard\.xlsx)"', own.text).group(1))
    card = client.get(card_href)
    assert card.status_code == 200 and card.content[:2] == b"PK"
    disposition = card.headers["content-disposition"]
    assert disposition.startswith("attachment; filename")
    named = urllib.parse.unquote(disposition.split("''", 1)[1]) if "filename*=" in disposition else disposition
    assert named.startswith(f"scorecard-{PERIOD}-") and named.endswith(".xlsx") and "/" not in named

    action = html.unescape(re.search(r'<form method="post" action="([^"]+/answer)"', own.text).group(1))
    answered = client.post(action, data={"answer": "confirm", "csrf_token": token(client, card_href.rsplit("/", 1)[0])},
                           follow_redirects=False)
    assert answered.status_code == 303 and answered.headers["location"] == landed.headers["location"]
    with ledger.Ledger(odd_world[1]) as book:
        assert answers.active_answers(book, PERIOD)[agent_id]["answer"] == "confirm"

    for other in ODD:
        if other != agent_id:
            path = f"/months/{PERIOD}/agents/{urllib.parse.quote(other, safe='')}"
            seen = client.get(path, follow_redirects=True)   # …/KF%2F1%2Flevel may lead to KF/1's own page
            assert seen.status_code == 404 or f"({agent_id})" in _shown_id(seen.text) and f"({other})" not in seen.text, (
                agent_id, other)
            assert client.get(f"{path}/scorecard.xlsx").status_code == 404, (agent_id, other)



def test_hr_resets_and_disables_each_account_by_its_own_name(odd_world):
    hr = _signed_in(odd_world, "hr")
    page = hr.get("/users").text
    actions = [html.unescape(a) for a in re.findall(r'<form method="post" action="(/users/[^"]+)"', page)]
    for name in ODD:
        reset = f"/users/{urllib.parse.quote(name, safe='')}/reset"
        assert reset in actions, name
        assert hr.post(reset, data={"csrf_token": token(hr, "/users")}).status_code == 200
    last = ODD[-1]
    disable = f"/users/{urllib.parse.quote(last, safe='')}/disable"
    assert hr.post(disable, data={"csrf_token": token(hr, "/users")}).status_code in (200, 303)
    with ledger.Ledger(odd_world[1]) as book:
        assert accounts.get(book, last).disabled and not accounts.get(book, "KF").disabled
