"""The workspace's pages: each handler reads or changes the month through the library
(:mod:`kpi.ledger.answers`, :mod:`kpi.ledger.closing`, :mod:`kpi.pipeline.month`, :mod:`kpi.core.sheets`, :mod:`kpi.ledger.accounts`) and renders
a template; it never formats for the command line, nor the command line for it.

Handlers run after :func:`kpi.web.app.protected` has checked the CSRF token, the session
and the role; what is left here is which agents and teams the user sees
(:func:`kpi.web.access.sees_agent`), answered with :class:`NotFound` (404) otherwise.
"""

from __future__ import annotations

import datetime
import functools
import tempfile
import urllib.parse
from decimal import Decimal
from pathlib import Path

from starlette.responses import RedirectResponse, Response

from kpi.ledger import accounts, answers, closing, history, revisions
from kpi.core import calendar, filenames, numbers
from kpi.io import clock, config
from kpi.render import terminal
from kpi.pipeline import month, team_imports, team_sheets as sheets
from kpi.core.errors import InputError, PeriodError, problems_of
from kpi.core.period import Period
from kpi.web import access, charts, security

IDENTITY = ("agent_id", "name", "team", "level")
LEVEL_CHANGES = closing.ALLOWED_DECISIONS  # recommendation → the changes a person may approve
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DECISION_WORDS = {"+2": "web_decision_up2", "+1": "web_decision_up1", "0": "web_decision_same",
                  "-1": "web_decision_down1", "dismiss": "web_decision_dismiss"}   # a level decision, in words
AGENT_FORMS = ("answer", "objection", "level")   # the addresses under an agent's page that take only forms


def said(error: Exception, lang: str) -> str:
    """What a refused request or a broken config says, in the words the terminal uses: the same
    Problem records, rendered by the same function (:func:`kpi.render.terminal.problem_lines`)."""
    return "\n".join(terminal.problem_lines(problems_of(error), lang, header=False))


class NotFound(Exception):
    """The page does not exist for this user (or at all: the two look the same)."""


def _money(text: str) -> str:
    value = Decimal(text)
    return f"{value:,.2f}"


def when(stamp: object) -> str:
    """A ledger time (ISO 8601 with its offset, as the server's clock wrote it) as people in
    the review read it: Beijing time to the minute, ``2026-10-12 09:30``."""
    try:
        moment = datetime.datetime.fromisoformat(str(stamp))
    except ValueError:
        return str(stamp or "")
    if moment.tzinfo is not None:
        moment = moment.astimezone(clock.BEIJING)
    return moment.strftime("%Y-%m-%d %H:%M")


def here(request) -> str:
    """The request's path as the browser sent it, percent-encoding kept (Starlette's ``url.path``
    is decoded: an agent ``KF#1``'s page would link to ``…/KF#1?lang=en``, a fragment)."""
    raw = request.scope.get("raw_path")
    return raw.decode("ascii", "replace").split("?", 1)[0] if raw else urllib.parse.quote(request.url.path)


def _page_of(ctx, name: str, context: dict) -> str:
    """The address of the page shown (its language link goes there): the request's own for a GET;
    after a form was posted (an upload, a decision), the page's GET address: the posted one may
    take no GET (``/months/2026-09/sheets`` would answer 405)."""
    if ctx.request.method == "GET":
        return here(ctx.request)
    period = context.get("period", "")
    if name == "agent.html":
        return agent_path(period, context["row"]["agent_id"])
    return {"month.html": f"/months/{period}", "import.html": f"/months/{period}/imports",
            "users.html": "/users", "password.html": "/account/password"}.get(name, "/months")


def attachment(filename: str) -> dict[str, str]:
    """The header that makes a browser save the body as ``filename``: RFC 6266, the name
    percent-encoded as UTF-8 when it is not plain ASCII (an agent's id or name in Chinese), as
    Starlette's FileResponse says it (a header is Latin-1: the raw name would fail the response)."""
    quoted = urllib.parse.quote(filename)
    if quoted == filename:
        return {"content-disposition": f'attachment; filename="{filename}"'}
    return {"content-disposition": f"attachment; filename*=utf-8''{quoted}"}


def agent_path(period: str, agent_id: str, action: str = "") -> str:
    """The agent's page (or ``action`` under it): the id is one path segment, percent-encoded
    whole, so ids such as ``KF#1``, ``KF?1`` or ``KF/1`` reach their own page (an id ``.``
    or ``..`` cannot: browsers resolve it away)."""
    return f"/months/{period}/agents/{_segment(agent_id)}" + (f"/{action}" if action else "")


def user_path(name: str, action: str) -> str:
    """``action`` on an account: its name (an agent's is their id by default) encoded as an id is."""
    return f"/users/{_segment(name)}/{action}"


def _segment(text: str) -> str:
    return urllib.parse.quote(text, safe="")


class Handlers:
    """The route handlers, sharing the templates and the settings."""

    def __init__(self, templates, settings):
        self.templates, self.settings = templates, settings

    # -------------------------------------------------------------- helpers
    @functools.lru_cache(maxsize=64)
    def rules(self, period: str):
        return config.load(self.settings.config_dir, period)

    def render(self, ctx, name: str, status: int = 200, **context) -> Response:
        base = {"t": ctx.t, "lang": ctx.lang, "user": ctx.user, "csrf": ctx.csrf, "path": _page_of(ctx, name, context),
                "allowed": functools.partial(access.allowed, ctx.user), "money": _money, "when": when,
                "decision_words": lambda change: ctx.t(DECISION_WORDS[change]) if change in DECISION_WORDS else change}
        return self.templates.TemplateResponse(ctx.request, name, {**base, **context}, status_code=status)

    @staticmethod
    def back(url: str) -> Response:
        return RedirectResponse(url, status_code=303)

    def stored_agent(self, ctx, period: str, agent_id: str) -> dict:
        """The agent's stored row in the counting revision, if this user may see it; else NotFound."""
        latest = revisions.latest_revision(ctx.book, period)
        row = revisions.results_of(ctx.book, latest["id"], agent_id).get(agent_id) if latest else None
        if row is None or not access.sees_agent(ctx.user, agent_id, row["team"]):
            raise NotFound()
        return row

    def out_dir(self, period: str) -> Path:
        return self.settings.out_root / period

    # -------------------------------------------------------------- navigation
    def home(self, ctx) -> Response:
        return self.back("/months")

    def logout(self, ctx) -> Response:
        accounts.close_session(ctx.book, ctx.request.cookies.get(security.SESSION_COOKIE, ""))
        with ctx.book.write() as db:
            ctx.book.audit(db, "logout", "", {"name": ctx.user.name})
        response = self.back("/login")
        response.delete_cookie(security.SESSION_COOKIE, path="/")
        return response

    def months(self, ctx) -> Response:
        """The months this user can open, newest first; others may go to any month."""
        if ctx.user.role == "agent":
            found = {}
            for line in history.history(ctx.book, ctx.user.agent_id):
                if line.counting:
                    found[line.period] = {"period": line.period, "revision": line.revision, "status": "",
                                          "total": line.total, "pay": line.pay}
            statuses = {p: revisions.month_status(ctx.book, p) for p in found}
            rows = [{**row, "status": statuses[row["period"]]} for row in found.values()]
        else:
            latest: dict[str, dict] = {}
            for row in history.months(ctx.book):
                latest[row["period"]] = {"period": row["period"], "revision": row["revision"], "status": row["status"],
                                         "agents": row["agents"]}
            for row in ctx.book.rows("SELECT DISTINCT period FROM sheets"):
                latest.setdefault(row["period"], {"period": row["period"], "revision": "", "status": "open",
                                                  "agents": ""})
            rows = list(latest.values())
        go = ctx.request.query_params.get("period", "")
        if go.strip():
            try:   # a browser's month picker sends 2026-09; typed in a plain box, 2026-9 or 2026年9月 is that too
                return self.back(f"/months/{Period.typed(go)}")
            except PeriodError:
                return self.render(ctx, "months.html", 400, typed=go[:20],
                                   months=sorted(rows, key=lambda r: r["period"], reverse=True))
        return self.render(ctx, "months.html", months=sorted(rows, key=lambda r: r["period"], reverse=True))

    # -------------------------------------------------------------- a month
    def month(self, ctx, period: str, problems=None, status: int = 200, notice: str = "",
              problems_title: str = "web_problems_title") -> Response:
        """The month for supervisors (their teams), the manager and HR (every team)."""
        if ctx.user.role == "agent":
            self.stored_agent(ctx, period, ctx.user.agent_id)
            return RedirectResponse(agent_path(period, ctx.user.agent_id), status_code=302)
        ruleset = self.rules(period)
        line = calendar.for_rules(ruleset)
        deadline = line.date("confirm_deadline")
        latest = revisions.latest_revision(ctx.book, period)
        stored = revisions.results_of(ctx.book, latest["id"], explain=False) if latest else {}
        states = {s.agent_id: s for s in answers.status(ctx.book, period, deadline, self.settings.today())} if latest else {}
        decisions = {r["agent_id"]: r["change"] for r in ctx.book.rows("SELECT * FROM decisions WHERE period = ?", period)}
        teams = sorted({row["team"] for row in stored.values()} | set(ctx.user.teams if ctx.user.role == "supervisor"
                                                                       else ()))
        shown = [self.team_view(ctx, ruleset, team, [r for r in stored.values() if r["team"] == team], states, decisions)
                 for team in teams if access.sees_team(ctx.user, team)]
        uploaded = [s for s in sheets.latest(ctx.book, period) if access.sees_team(ctx.user, s.team)]
        return self.render(ctx, "month.html", status, period=period, revision=latest["revision"] if latest else None,
                           month_status=revisions.month_status(ctx.book, period), teams=shown, sheets=uploaded,
                           timeline=[(step.label(ctx.lang), step.date) for step in line.steps], deadline=deadline,
                           problems=problems or [], problems_title=problems_title, notice=notice,
                           level_changes=LEVEL_CHANGES,
                           scored_at=latest["scored_at"] if latest else "")

    def team_view(self, ctx, ruleset, team: str, members: list[dict], states: dict, decisions: dict) -> dict:
        """One team's summary: its agents with their answers, counts and charts."""
        lang = ctx.lang
        rows, totals, per_band, lost = [], [], {}, {}
        for row in members:
            result = row["result"]
            state = states.get(row["agent_id"])
            rows.append({"agent_id": row["agent_id"], "name": row["name"], "level": row["level"],
                         "total": result["total"], "band": result["band_label"][lang], "pay": result["total_pay"],
                         "change": result["level_change"]["value"], "change_label": result["level_change"][lang],
                         "state": state.state if state else "unanswered", "reason": state.reason if state else "",
                         "overdue": state.overdue if state else False, "decision": decisions.get(row["agent_id"], ""),
                         "objection_decision": state.decision if state else "",
                         "decision_reason": state.decision_reason if state else "",
                         "choices": LEVEL_CHANGES.get(result["level_change"]["value"], ())})
            totals.append(Decimal(result["total"]))
            per_band[result["band_label"][lang]] = per_band.get(result["band_label"][lang], 0) + 1
            for item in ruleset.weights.items:
                points = Decimal(result["points"].get(item.id, "0"))
                lost[item.label(lang)] = lost.get(item.label(lang), Decimal(0)) + item.weight - points
        kinds = {"confirmed": "confirmed", "objected": "objected", "objection_upheld": "objected",
                 "objection_rejected": "objected", "unanswered": "unanswered", "overdue": "unanswered"}
        counts = {kind: sum(kinds.get(r["state"], "unanswered") == kind for r in rows)
                  for kind in ("confirmed", "objected", "unanswered")}
        bands = [(band.label(lang), per_band.get(band.label(lang), 0)) for band in reversed(ruleset.pay.bands)]
        shown_charts = [] if not rows else [
            charts.bars(ctx.t("web_chart_totals"), charts.histogram(totals)),
            charts.bars(ctx.t("web_chart_bands"), bands),
            charts.bars(ctx.t("web_chart_lost"), sorted(lost.items(), key=lambda kv: -kv[1])),
        ]
        return {"team": team, "rows": rows, "counts": counts, "charts": shown_charts}

    def upload(self, ctx, period: str) -> Response:
        """A supervisor's team sheet: checked like ``kpi check``; its problems as a table of cells."""
        ruleset = self.rules(period)
        got = ctx.form.get("sheet")
        if not isinstance(got, tuple) or not got[1]:
            return self.month(ctx, period, status=400, notice=ctx.t("web_no_file"))
        name, content = got
        try:
            stored = sheets.upload(ctx.book, ruleset, Path(name).name, content, ctx.user.teams)
        except InputError as error:
            with ctx.book.write() as db:
                ctx.book.audit(db, "upload_refused", period, {"file": Path(name).name, "problems": len(error.problems)})
            return self.month(ctx, period, problems=self.problem_rows(ruleset, problems_of(error), ctx.lang), status=422)
        notice = ctx.t("web_sheet_stored", teams="、".join(s.team for s in stored),
                       agents=sum(s.agents for s in stored))
        return self.month(ctx, period, notice=notice)

    @staticmethod
    def problem_rows(ruleset, problems, lang: str) -> list[dict]:
        """Each problem (a :class:`kpi.core.errors.Problem` record, as the terminal gets it) as cell,
        agent, column, value as typed and what is expected, in the terminal's words."""
        rows = []
        for problem in problems:
            field = ruleset.field(problem.field) if problem.field else None
            rows.append({"location": problem.location, "agent": problem.agent,
                         "field": field.label(lang) if field else problem.field, "value": problem.value,
                         "message": terminal.message(problem, ruleset, lang)})
        return rows

    # -------------------------------------------------------------- platform import (issue 25)
    @property
    def staging(self) -> Path:
        """Where a previewed import waits for its apply."""
        return self.settings.out_root / ".imports"

    def import_preview(self, ctx, period: str) -> Response:
        """A supervisor's platform exports imported into their team's sheet, shown and not stored:
        what is filled for whom, what changes, who is unmatched, and the check of the result."""
        if ctx.request.method != "POST":   # the language switch of the preview page
            return self.back(f"/months/{period}")
        revisions.require_open(ctx.book, period)
        ruleset = self.rules(period)
        exports = [team_imports.Upload(name, content) for name, content in _files(ctx.form.get("exports"))]
        if not exports:
            return self.month(ctx, period, status=400, notice=ctx.t("web_import_no_exports"))
        workbook = next((team_imports.Upload(n, c) for n, c in _files(ctx.form.get("sheet"))), None)
        team = str(ctx.form.get("team") or (ctx.user.teams[0] if ctx.user.teams else "")).strip()
        if not access.sees_team(ctx.user, team):
            raise NotFound()
        try:
            found = team_imports.preview(ctx.book, ruleset, self.settings.config_dir, ctx.lang, team, exports,
                                         workbook, ctx.user.teams)
        except InputError as error:
            with ctx.book.write() as db:
                ctx.book.audit(db, "import_refused", period, {"team": team, "files": [e.name for e in exports],
                                                              "problems": len(error.problems)})
            return self.month(ctx, period, problems=self.problem_rows(ruleset, error.problems, ctx.lang), status=422,
                              problems_title="web_import_problems_title")
        token = team_imports.stage(self.staging, ctx.user.name, period, found)
        return self.render(ctx, "import.html", period=period, team=team, token=token,
                           **self.import_view(ruleset, found, ctx.lang))

    def import_view(self, ruleset, found: team_imports.Preview, lang: str) -> dict:
        """The preview's records as rows of tables (from the plan, as ``kpi import`` reads it)."""
        plan = found.plan
        label = lambda field: ruleset.field(field).label(lang) if ruleset.field(field) else field  # noqa: E731
        written = {(w.row, w.field): w for w in plan.writes}
        fields = [f.id for f in ruleset.fields if any(field == f.id for _, field in written)]
        changed = {(c.agent_id, c.field) for c in plan.changes}
        agents = []
        for row in plan.sheet.rows:
            cells = {}
            for field in fields:
                write = written.get((row.number, field))
                if write is not None:
                    old = row.values.get(field)
                    cells[field] = {"new": numbers.plain(write.value), "old": _shown(old),
                                    "changed": (row.agent_id, field) in changed, "note": write.note}
            matched = [{"account": r.account, "where": r.where} for r in plan.matched.get(row.agent_id, [])]
            if cells or matched:
                agents.append({"agent_id": row.agent_id, "name": row.name, "accounts": matched, "cells": cells})
        left, seen = [], set()
        for read in plan.exports:
            for item in read.profile.left_to_sheet:
                if item.field not in seen and ruleset.field(item.field):
                    seen.add(item.field)
                    left.append({"field": label(item.field), "reason": item.reason(lang)})
        return {
            "file_name": found.file_name, "from_stored": found.base_id is not None,
            "exports": [{"source": r.source, "profile": r.profile.label(lang), "rows": r.rows,
                         "absent": [label(f) for f in r.absent]} for r in plan.exports],
            "fields": [(f, label(f)) for f in fields], "agents": agents,
            "changes": [{"location": c.location, "agent": c.agent_id, "field": label(c.field), "old": _shown(c.old),
                         "new": numbers.plain(c.new)} for c in plan.changes],
            "kept": plan.kept, "cells": len(plan.writes), "filled_agents": plan.agents,
            "unmatched": [{"location": r.where, "account": r.account} for r in plan.unmatched],
            "missing": [{"agent_id": a.agent_id, "name": a.name, "accounts": "; ".join(a.accounts)}
                        for a in plan.missing],
            "from_ledger": plan.from_ledger, "left": left,
            "check": self.problem_rows(ruleset, found.problems, lang),
        }

    def import_staged(self, ctx, period: str) -> team_imports.Staged:
        """The user's previewed import named by the form's token; 409 when gone or not theirs."""
        got = team_imports.staged(self.staging, str(ctx.form.get("token", "")), ctx.user.name, period)
        if got is None:
            raise revisions.ReviewError("web_import_expired")
        if not access.sees_team(ctx.user, got.team):
            raise NotFound()
        return got

    def import_apply(self, ctx, period: str) -> Response:
        """Store the previewed import as the team's new sheet (checked again, like an upload)."""
        ruleset = self.rules(period)
        got = self.import_staged(ctx, period)
        try:
            stored = team_imports.store(ctx.book, ruleset, got, ctx.user.teams)
        except InputError as error:
            return self.month(ctx, period, problems=self.problem_rows(ruleset, error.problems, ctx.lang), status=422)
        team_imports.discard(self.staging, got.token)
        notice = ctx.t("web_import_applied", agents=got.agents, cells=got.cells,
                       teams="、".join(s.team for s in stored))
        return self.month(ctx, period, notice=notice)

    def import_download(self, ctx, period: str) -> Response:
        """The previewed workbook as the import filled it, to go on filling it offline."""
        got = self.import_staged(ctx, period)
        with ctx.book.write() as db:
            ctx.book.audit(db, "download_import", period, {"team": got.team})
        return Response(got.filled, media_type=XLSX,
                        headers=attachment(f"sheet-{period}-imported.xlsx"))

    def score(self, ctx, period: str) -> Response:
        """Score the month from the latest sheet of every team (one revision)."""
        ruleset = self.rules(period)
        try:
            sheets.score(ctx.book, ruleset, self.out_dir(period), ctx.lang)
        except InputError as error:
            return self.month(ctx, period, problems=self.problem_rows(ruleset, problems_of(error), ctx.lang), status=422)
        return self.back(f"/months/{period}")

    def close(self, ctx, period: str) -> Response:
        reason = str(ctx.form.get("reason", "")).strip()
        month.close(ctx.book, self.rules(period), self.out_dir(period), ctx.lang, reason or None, self.settings.today())
        return self.back(f"/months/{period}")

    def reopen(self, ctx, period: str) -> Response:
        reason = str(ctx.form.get("reason", "")).strip()
        if not reason:
            raise revisions.ReviewError("web_reason_needed")
        closing.reopen(ctx.book, period, reason)
        return self.back(f"/months/{period}")

    def payroll(self, ctx, period: str, kind: str) -> Response:
        ruleset = self.rules(period)
        with tempfile.TemporaryDirectory(prefix="kpi-payroll-") as folder:
            path = Path(folder) / f"payroll-{period}.{kind}"
            month.payroll_file(ctx.book, ruleset, ctx.lang, path, kind, self.settings.today())
            body = path.read_bytes()
        with ctx.book.write() as db:
            ctx.book.audit(db, "download_payroll", period, {"format": kind})
        media = XLSX if kind == "xlsx" else "text/csv; charset=utf-8"
        return Response(body, media_type=media,
                        headers=attachment(f"payroll-{period}.{kind}"))

    def payroll_xlsx(self, ctx, period: str) -> Response:
        return self.payroll(ctx, period, "xlsx")

    def payroll_csv(self, ctx, period: str) -> Response:
        return self.payroll(ctx, period, "csv")

    # -------------------------------------------------------------- an agent
    def agent(self, ctx, period: str, agent_id: str) -> Response:
        """The scorecard as a page: items, inputs, measured values, rules, points lost, comments,
        pay computation, level recommendation, timeline, answer."""
        try:
            row = self.stored_agent(ctx, period, agent_id)
        except NotFound:
            head, _, action = agent_id.rpartition("/")
            if head and action in AGENT_FORMS:   # …/answer opened as a page: the agent's page
                return self.back(agent_path(period, head))
            raise
        ruleset = self.rules(period)
        lang = ctx.lang
        line = calendar.for_rules(ruleset)
        deadline = line.date("confirm_deadline")
        result = row["result"]
        texts = result.get("explain", {}).get(lang, {})
        items = []
        for item in ruleset.weights.items:
            points = Decimal(result["points"].get(item.id, "0"))
            items.append({"label": item.label(lang), "group": item.group, "weight": item.weight, "points": points,
                          "lost": item.weight - points, "text": texts.get(item.id, ""),
                          "comment": row["inputs"].get("item_comments", {}).get(item.id, "")})
        values = row["inputs"].get("values", {})
        shown_inputs = [(f.label(lang), values[f.id]) for f in ruleset.fields
                        if f.id not in IDENTITY and values.get(f.id) not in (None, "")]
        comment = row["inputs"].get("comment", "")
        given = answers.active_answers(ctx.book, period).get(agent_id)
        state = next((s for s in answers.status(ctx.book, period, deadline, self.settings.today())
                      if s.agent_id == agent_id), None)
        month_status = revisions.month_status(ctx.book, period)
        today = self.settings.today()
        can_answer = ctx.user.role == "agent" and month_status == "open" and today <= deadline
        return self.render(ctx, "agent.html", period=period, row=row, result=result, items=items,
                           inputs=shown_inputs, comment=comment, answer=given, state=state, can_answer=can_answer,
                           deadline=deadline, late=today > deadline, month_status=month_status,
                           timeline=[(step.label(lang), step.date) for step in line.steps],
                           level_changes=LEVEL_CHANGES,
                           total=sum((i["points"] for i in items), Decimal(0)))

    def scorecard(self, ctx, period: str, agent_id: str) -> Response:
        row = self.stored_agent(ctx, period, agent_id)
        with tempfile.TemporaryDirectory(prefix="kpi-card-") as folder:
            path = Path(folder) / "scorecard.xlsx"   # not named by the id: an id may hold "/" or ".."
            if not month.scorecard_file(ctx.book, self.rules(period), agent_id, ctx.lang, path):
                raise NotFound()
            body = path.read_bytes()
        name = filenames.card_path(agent_id, row["name"], row["team"]).name   # as kpi score names the card
        return Response(body, media_type=XLSX, headers=attachment(f"scorecard-{period}-{name}"))

    def answer(self, ctx, period: str, agent_id: str) -> Response:
        """The agent's own confirmation or objection, until the deadline."""
        self.stored_agent(ctx, period, agent_id)  # an agent sees only themself: another id is a 404
        ruleset = self.rules(period)
        deadline = calendar.for_rules(ruleset).date("confirm_deadline")
        if self.settings.today() > deadline:
            raise revisions.ReviewError("web_answer_late", deadline=deadline)
        choice = str(ctx.form.get("answer", ""))
        if choice not in ("confirm", "object"):
            raise revisions.ReviewError("web_answer_unknown")
        reason = str(ctx.form.get("reason", "")) if choice == "object" else ""
        answers.answer(ctx.book, period, answers.Answer(agent_id, choice, reason, "web"))
        return self.back(agent_path(period, agent_id))

    def decide_objection(self, ctx, period: str, agent_id: str) -> Response:
        """The manager upholds or rejects an agent's objection, with a reason."""
        self.stored_agent(ctx, period, agent_id)
        decision = str(ctx.form.get("decision", ""))
        reason = str(ctx.form.get("reason", "")).strip()
        decide = getattr(answers, "decide_objection", None)
        if decide is None:
            raise revisions.ReviewError("web_not_available")
        decide(ctx.book, period, agent_id, decision, reason)
        return self.back(ctx.form.get("back") if str(ctx.form.get("back", "")).startswith("/months/")
                         else f"/months/{period}")

    def decide_level(self, ctx, period: str, agent_id: str) -> Response:
        """HR approves (or changes) the level recommendation of an agent."""
        self.stored_agent(ctx, period, agent_id)
        change = str(ctx.form.get("change", ""))
        closing.decide_level(ctx.book, period, agent_id, change)
        return self.back(f"/months/{period}")

    # -------------------------------------------------------------- accounts
    def password(self, ctx) -> Response:
        message, status = "", 200
        if ctx.request.method == "POST":
            new = str(ctx.form.get("new_password", ""))
            if new != str(ctx.form.get("new_password2", "")):
                message, status = ctx.t("web_passwords_differ"), 400
            else:
                try:
                    accounts.change_password(ctx.book, ctx.user.name, str(ctx.form.get("old_password", "")), new)
                except accounts.AccountError as error:
                    message, status = said(error, ctx.lang), 400
                else:
                    return self.back("/months")
        return self.render(ctx, "password.html", status, message=message)

    def users(self, ctx) -> Response:
        """HR's accounts page: every account; add one (its first password shown once)."""
        created, message, status, remarks = None, "", 200, []
        if ctx.request.method == "POST":
            typed = str(ctx.form.get("teams", ""))
            for separator in "、，;；":   # as an input method types a list
                typed = typed.replace(separator, ",")
            teams = [t.strip() for t in typed.split(",") if t.strip()]
            password = accounts.generated_password()
            try:
                user = accounts.add(ctx.book, str(ctx.form.get("name", "")), str(ctx.form.get("role", "")), password,
                                    teams, must_change=True)
            except accounts.AccountError as error:
                message, status = said(error, ctx.lang), 400
            else:
                created = (user.name, password)
                remarks = [ctx.t(key, **params) for key, params in accounts.strangers(ctx.book, user)]
        return self.render(ctx, "users.html", status, users=accounts.users(ctx.book), roles=accounts.ROLES,
                           created=created, message=message, remarks=remarks)

    def user_disable(self, ctx, name: str) -> Response:
        if accounts.get(ctx.book, name) is None:
            raise NotFound()
        accounts.disable(ctx.book, name)
        return self.back("/users")

    def user_reset(self, ctx, name: str) -> Response:
        if accounts.get(ctx.book, name) is None:
            raise NotFound()
        password = accounts.reset(ctx.book, name)
        return self.render(ctx, "users.html", users=accounts.users(ctx.book), roles=accounts.ROLES,
                           created=(name, password), message="")



def _files(value) -> list[tuple[str, bytes]]:
    """The files of a form field (one or several); a file input left empty sends none."""
    found = value if isinstance(value, list) else [value]
    return [item for item in found if isinstance(item, tuple) and item[1]]


def _shown(value) -> str:
    """A cell's value as the preview shows it: empty, a number in plain digits, or its text."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return numbers.plain(Decimal(str(value)))
    return str(value)
