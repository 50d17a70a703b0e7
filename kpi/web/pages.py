"""The workspace's pages: each handler reads or changes the month through the library
(:mod:`kpi.ledger.answers`, :mod:`kpi.ledger.closing`, :mod:`kpi.pipeline.month`, :mod:`kpi.core.sheets`, :mod:`kpi.ledger.accounts`) and renders
a template; it never formats for the command line, nor the command line for it.

Handlers run after :func:`kpi.web.app.protected` has checked the CSRF token, the session
and the role; what is left here is which agents and teams the user sees
(:func:`kpi.web.access.sees_agent`), answered with :class:`NotFound` (404) otherwise.
"""

from __future__ import annotations

import functools
import re
import tempfile
from decimal import Decimal
from pathlib import Path

from starlette.responses import RedirectResponse, Response

from kpi.ledger import accounts, answers, closing, history, revisions
from kpi.core import calendar, i18n
from kpi.io import config
from kpi.pipeline import month, team_sheets as sheets
from kpi.core.errors import InputError
from kpi.web import access, charts

IDENTITY = ("agent_id", "name", "team", "level")
LEVEL_CHANGES = closing.ALLOWED_DECISIONS  # recommendation → the changes a person may approve
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class NotFound(Exception):
    """The page does not exist for this user (or at all: the two look the same)."""


def _money(text: str) -> str:
    value = Decimal(text)
    return f"{value:,.2f}"


class Handlers:
    """The route handlers, sharing the templates and the settings."""

    def __init__(self, templates, settings):
        self.templates, self.settings = templates, settings

    # -------------------------------------------------------------- helpers
    @functools.lru_cache(maxsize=64)
    def rules(self, period: str):
        return config.load(self.settings.config_dir, period)

    def render(self, ctx, name: str, status: int = 200, **context) -> Response:
        base = {"t": ctx.t, "lang": ctx.lang, "user": ctx.user, "csrf": ctx.csrf, "path": ctx.request.url.path,
                "allowed": functools.partial(access.allowed, ctx.user), "money": _money}
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
        from kpi.web.app import SESSION_COOKIE

        accounts.close_session(ctx.book, ctx.request.cookies.get(SESSION_COOKIE, ""))
        with ctx.book.write() as db:
            ctx.book.audit(db, "logout", "", {"name": ctx.user.name})
        response = self.back("/login")
        response.delete_cookie(SESSION_COOKIE, path="/")
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
        go = ctx.request.query_params.get("period", "").strip()
        if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", go):
            return self.back(f"/months/{go}")
        return self.render(ctx, "months.html", months=sorted(rows, key=lambda r: r["period"], reverse=True))

    # -------------------------------------------------------------- a month
    def month(self, ctx, period: str, problems=None, status: int = 200, notice: str = "") -> Response:
        """The month for supervisors (their teams), the manager and HR (every team)."""
        if ctx.user.role == "agent":
            self.stored_agent(ctx, period, ctx.user.agent_id)
            return RedirectResponse(f"/months/{period}/agents/{ctx.user.agent_id}", status_code=302)
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
                           problems=problems or [], notice=notice, level_changes=LEVEL_CHANGES,
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
            return self.month(ctx, period, problems=self.problem_rows(ruleset, error.problems, ctx.lang), status=422)
        notice = ctx.t("web_sheet_stored", teams="、".join(s.team for s in stored),
                       agents=sum(s.agents for s in stored))
        return self.month(ctx, period, notice=notice)

    @staticmethod
    def problem_rows(ruleset, problems, lang: str) -> list[dict]:
        """Each problem as cell, agent, column, value as typed and what is expected."""
        rows = []
        for problem in problems:
            params = {}
            for name, value in problem.params:
                found = ruleset.field(value) if name == "other" else None
                params[name] = found.label(lang) if found else value
            field = ruleset.field(problem.field) if problem.field else None
            rows.append({"location": problem.location, "agent": problem.agent,
                         "field": field.label(lang) if field else problem.field, "value": problem.value,
                         "message": i18n.text(problem.code, lang, **params)})
        return rows

    def score(self, ctx, period: str) -> Response:
        """Score the month from the latest sheet of every team (one revision)."""
        ruleset = self.rules(period)
        try:
            sheets.score(ctx.book, ruleset, self.out_dir(period), ctx.lang)
        except InputError as error:
            return self.month(ctx, period, problems=self.problem_rows(ruleset, error.problems, ctx.lang), status=422)
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
                        headers={"content-disposition": f'attachment; filename="payroll-{period}.{kind}"'})

    def payroll_xlsx(self, ctx, period: str) -> Response:
        return self.payroll(ctx, period, "xlsx")

    def payroll_csv(self, ctx, period: str) -> Response:
        return self.payroll(ctx, period, "csv")

    # -------------------------------------------------------------- an agent
    def agent(self, ctx, period: str, agent_id: str) -> Response:
        """The scorecard as a page: items, inputs, measured values, rules, points lost, comments,
        pay computation, level recommendation, timeline, answer."""
        row = self.stored_agent(ctx, period, agent_id)
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
        self.stored_agent(ctx, period, agent_id)
        with tempfile.TemporaryDirectory(prefix="kpi-card-") as folder:
            path = Path(folder) / f"{agent_id}.xlsx"
            if not month.scorecard_file(ctx.book, self.rules(period), agent_id, ctx.lang, path):
                raise NotFound()
            body = path.read_bytes()
        safe_id = "".join(ch for ch in agent_id if ch.isalnum() or ch in "-_") or "scorecard"
        return Response(body, media_type=XLSX,
                        headers={"content-disposition": f'attachment; filename="scorecard-{period}-{safe_id}.xlsx"'})

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
        return self.back(f"/months/{period}/agents/{agent_id}")

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
                    message, status = ctx.t(error.code, **error.params), 400
                else:
                    return self.back("/months")
        return self.render(ctx, "password.html", status, message=message)

    def users(self, ctx) -> Response:
        """HR's accounts page: every account; add one (its first password shown once)."""
        created, message, status = None, "", 200
        if ctx.request.method == "POST":
            teams = [t.strip() for t in str(ctx.form.get("teams", "")).replace("、", ",").split(",") if t.strip()]
            password = accounts.generated_password()
            try:
                user = accounts.add(ctx.book, str(ctx.form.get("name", "")), str(ctx.form.get("role", "")), password,
                                    teams, must_change=True)
            except accounts.AccountError as error:
                message, status = ctx.t(error.code, **error.params), 400
            else:
                created = (user.name, password)
        return self.render(ctx, "users.html", status, users=accounts.users(ctx.book), roles=accounts.ROLES,
                           created=created, message=message)

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

