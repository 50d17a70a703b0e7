"""The web workspace: the month in a browser for supervisors, the manager, HR and every agent.

:func:`create_app` builds a Starlette application over one SQLite ledger. Pages are
rendered on the server from Jinja templates (``kpi/web/templates``), with one CSS file
(``kpi/web/static``), no script and no network access. Every route goes through
:func:`protected`: CSRF check on state-changing requests, the session's user, the role's
permission (:mod:`kpi.web.access`), then the handler, which calls the same library
functions as the command line (:mod:`kpi.pipeline.month`, :mod:`kpi.ledger.answers`, :mod:`kpi.ledger.closing`, :mod:`kpi.core.sheets`,
:mod:`kpi.ledger.accounts`) with the acting user recorded in the ledger (:func:`kpi.ledger.db.acting`).
"""

from __future__ import annotations

import datetime
import functools
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from kpi.io import clock
from kpi.ledger import accounts, db as ledger
from kpi.core import i18n
from kpi.ledger.accounts import AccountError, User
from kpi.core.errors import ConfigError, PeriodError
from kpi.core.period import Period
from kpi.ledger.db import LedgerError
from kpi.ledger.revisions import ReviewError
from kpi.web import access, pages, security
from kpi.web.pages import said

HERE = Path(__file__).resolve().parent
LANG_COOKIE = "kpi_lang"
IMPORT_FILES = 11        # files of one platform import: up to ten exports and the fill-in workbook


class Settings(NamedTuple):
    """How the workspace runs: its ledger, rules, output folder, limits and clock."""

    db_path: Path
    config_dir: str | None
    out_root: Path
    secure_cookies: bool
    idle: float              # seconds a session may stay unused
    absolute: float          # seconds a session may live
    max_upload: int          # bytes of a request body
    secret: bytes            # signs the CSRF tokens
    today: Callable[[], datetime.date]


class Ctx(NamedTuple):
    """What a handler gets: the request, the open ledger, the user, language, client, form."""

    request: Request
    book: ledger.Ledger
    user: User
    lang: str
    client: str
    form: dict
    settings: Settings
    csrf: str

    def t(self, key: str, **params) -> str:
        return i18n.text(key, self.lang, **params)


def create_app(db_path, config_dir=None, *, out_root=None, secure_cookies: bool = False, idle_minutes: float = 30,
               absolute_hours: float = 12, max_upload: int = 10 << 20, today: Callable[[], datetime.date] | None = None,
               secret: bytes | None = None):
    """The workspace over the ledger at ``db_path`` (created and migrated if needed).

    ``out_root``: where a month scored here writes its files (``<out_root>/<period>``,
    by default ``kpi-out`` beside the ledger); ``secure_cookies``: cookies only over HTTPS;
    sessions end after ``idle_minutes`` unused or ``absolute_hours`` in all; a request body
    over ``max_upload`` bytes is refused (413); ``today`` is the clock of the confirmation deadline."""
    db_path = Path(db_path)
    ledger.Ledger(db_path).close()  # create and migrate now, not on the first request
    settings = Settings(db_path, config_dir, Path(out_root) if out_root else db_path.resolve().parent / "kpi-out",
                        secure_cookies, idle_minutes * 60, absolute_hours * 3600, max_upload,
                        secret or secrets.token_bytes(32), today or clock.today)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["PERMITTED"] = access.allowed
    templates.env.globals["agent_path"] = pages.agent_path
    templates.env.globals["user_path"] = pages.user_path
    handlers = pages.Handlers(templates, settings)
    routes = [
        Route("/healthz", healthz),
        Mount("/static", app=_static(), name="static"),
        Route("/login", login(templates, settings), methods=["GET", "POST"]),
        Route("/logout", protected(settings, templates, None, handlers.logout), methods=["POST"]),
        Route("/", protected(settings, templates, "months", handlers.home)),
        Route("/months", protected(settings, templates, "months", handlers.months)),
        Route("/months/{period}", protected(settings, templates, "month", handlers.month)),
        Route("/months/{period}/sheets", protected(settings, templates, "upload", handlers.upload, upload=True),
              methods=["POST"]),
        Route("/months/{period}/imports", protected(settings, templates, "import", handlers.import_preview,
                                                    upload=IMPORT_FILES), methods=["GET", "POST"]),
        Route("/months/{period}/imports/apply", protected(settings, templates, "import", handlers.import_apply),
              methods=["POST"]),
        Route("/months/{period}/imports/filled.xlsx",
              protected(settings, templates, "import", handlers.import_download), methods=["POST"]),
        Route("/months/{period}/score", protected(settings, templates, "score", handlers.score), methods=["POST"]),
        Route("/months/{period}/close", protected(settings, templates, "close", handlers.close), methods=["POST"]),
        Route("/months/{period}/reopen", protected(settings, templates, "reopen", handlers.reopen), methods=["POST"]),
        Route("/months/{period}/payroll.xlsx", protected(settings, templates, "payroll", handlers.payroll_xlsx)),
        Route("/months/{period}/payroll.csv", protected(settings, templates, "payroll", handlers.payroll_csv)),
        # an agent id may hold any character, "/" included (percent-encoded by pages.agent_path):
        # the actions under an agent's page come first, then the page, which takes the rest of the path
        Route("/months/{period}/agents/{agent_id:path}/scorecard.xlsx",
              protected(settings, templates, "scorecard", handlers.scorecard)),
        Route("/months/{period}/agents/{agent_id:path}/answer", protected(settings, templates, "answer", handlers.answer),
              methods=["POST"]),
        Route("/months/{period}/agents/{agent_id:path}/objection",
              protected(settings, templates, "decide_objection", handlers.decide_objection), methods=["POST"]),
        Route("/months/{period}/agents/{agent_id:path}/level",
              protected(settings, templates, "decide_level", handlers.decide_level), methods=["POST"]),
        Route("/months/{period}/agents/{agent_id:path}", protected(settings, templates, "agent", handlers.agent)),
        Route("/account/password", protected(settings, templates, "password", handlers.password),
              methods=["GET", "POST"]),
        Route("/users", protected(settings, templates, "users", handlers.users), methods=["GET", "POST"]),
        Route("/users/{name:path}/disable", protected(settings, templates, "users", handlers.user_disable),
              methods=["POST"]),
        Route("/users/{name:path}/reset", protected(settings, templates, "users", handlers.user_reset), methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={404: _unknown(templates), 405: _unknown(templates)})
    app.state.settings = settings

    def too_large(scope) -> Response:   # the Guard's 413, before the route reads anything
        request = Request(scope)
        return refused_body(templates, request, 413, lang_of(request, None), max_upload)

    return security.Guard(app, max_body=max_upload, too_large=too_large)


def _static():
    return StaticFiles(directory=str(HERE / "static"))


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


# ------------------------------------------------------------------ request plumbing
def client_of(request: Request) -> str:
    return request.client.host if request.client else ""


def lang_of(request: Request, user: User | None) -> str:
    """``?lang=`` if given, else the language cookie, else the user's setting, else zh."""
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or (user.lang if user else "")
    return asked if asked in i18n.LANGS else i18n.DEFAULT


def finish(response: Response, request: Request, settings: Settings, csrf_cookie: str, lang: str) -> Response:
    """Set the CSRF cookie when it is new and the language cookie when ``?lang=`` asked for one."""
    if request.cookies.get(security.CSRF_COOKIE) != csrf_cookie:
        response.set_cookie(security.CSRF_COOKIE, csrf_cookie, httponly=True, samesite="lax",
                            secure=settings.secure_cookies, path="/")
    if request.query_params.get("lang") in i18n.LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="lax",
                            secure=settings.secure_cookies, path="/")
    return response



async def _checked_form(request: Request, settings: Settings, templates, lang: str,
                        upload: bool | int = False) -> dict | Response:
    """The posted form, or the response that refuses it: too large or malformed (from
    :func:`read_form`), or without the session's CSRF token (403). Every state-changing
    request, the login included, passes here."""
    form = await read_form(request, settings, upload)
    if isinstance(form, int):
        return refused_body(templates, request, form, lang, settings.max_upload)
    token = form.get(security.CSRF_FIELD)
    if not security.csrf_ok(settings.secret, request.cookies.get(security.CSRF_COOKIE),
                            token if isinstance(token, str) else None):
        return error_page(templates, request, 403, lang, message=i18n.text("web_csrf_refused", lang))
    return form

def _unknown(templates: Jinja2Templates):
    """What an address no route answers, or a method it does not take, gets: the error page in
    the user's language (Starlette's own is a line of English text). An address that takes only
    forms, opened as a page (the address bar after an upload, a bookmark), leads to the page
    the form was on: ``…/sheets`` to the month, ``…/agents/ID/answer`` to the agent."""

    async def handler(request: Request, error) -> Response:
        lang = lang_of(request, None)
        if error.status_code == 405 and request.method in ("GET", "HEAD"):
            path = pages.here(request)
            return RedirectResponse("/users" if path.startswith("/users/") else
                                    "/months" if path == "/logout" else path.rsplit("/", 1)[0] or "/months",
                                    status_code=303)
        response = error_page(templates, request, error.status_code, lang)
        response.headers.update(error.headers or {})   # a 405 says which methods it takes (Allow)
        return response

    return handler


def refused_body(templates: Jinja2Templates, request: Request, status: int, lang: str, limit: int) -> Response:
    """The page for a request whose body is refused: too large (413, saying the limit, with the
    way back to the month it was sent from) or malformed (400)."""
    size = f"{limit / (1 << 20):.3g} MB" if limit >= 1 << 20 else f"{max(1, round(limit / 1024))} KB"
    message = i18n.text("web_too_large", lang, limit=size) if status == 413 else ""
    parts = request.url.path.split("/")
    back = "/".join(parts[:3]) if len(parts) > 3 and parts[1] == "months" and Period.parses(parts[2]) else "/months"
    return error_page(templates, request, status, lang, message=message, back=back)


async def read_form(request: Request, settings: Settings, upload: bool | int = False) -> dict | int:
    """The form of a POST: fields as text, an uploaded file as (name, bytes), several files of one
    field as a list of them; ``upload``: how many files it may carry (True: one). A refused body
    gives its status instead: 413 when too large, 400 when malformed."""
    try:
        form = await request.form(max_files=int(upload), max_fields=20, max_part_size=64 * 1024)
        fields: dict = {}
        for key, value in form.multi_items():
            if hasattr(value, "read"):
                content = await value.read(settings.max_upload + 1)
                if len(content) > settings.max_upload:
                    return 413
                got = (value.filename or "", content)
                if key in fields:   # another file of the same field
                    fields[key] = [*(fields[key] if isinstance(fields[key], list) else [fields[key]]), got]
                else:
                    fields[key] = got
            else:
                fields[key] = value
        await form.close()
        return fields
    except security.BodyTooLarge:
        return 413
    except Exception as error:  # a malformed multipart body (python-multipart / Starlette refuse it)
        if type(error).__name__ in ("MultiPartException", "HTTPException", "ClientDisconnect"):
            return 400
        raise


def error_page(templates: Jinja2Templates, request: Request, status: int, lang: str, csrf: str = "",
               user: User | None = None, message: str = "", back: str = "/months") -> Response:
    return templates.TemplateResponse(request, "error.html", {
        "t": functools.partial(i18n.text, lang=lang), "lang": lang, "user": user, "csrf": csrf, "status": status,
        "message": message, "path": pages.here(request) if request.method == "GET" else back, "back": back},
        status_code=status)


def protected(settings: Settings, templates: Jinja2Templates, action: str | None, handler,
              upload: bool | int = False):
    """The route's endpoint: CSRF (POST), session, first-login password change, permission of
    ``action`` (None: any signed-in user), then ``handler(ctx, **path params)`` in a worker thread."""

    async def endpoint(request: Request) -> Response:
        csrf_cookie = request.cookies.get(security.CSRF_COOKIE) or security.new_csrf_cookie()
        form: dict = {}
        if request.method not in security.SAFE_METHODS:
            got = await _checked_form(request, settings, templates, lang_of(request, None), upload)
            if isinstance(got, Response):
                return got
            form = got
        response = await run_in_threadpool(_serve, request, settings, templates, action, handler, form, csrf_cookie)
        return finish(response, request, settings, csrf_cookie, lang_of(request, None))

    return endpoint


def _serve(request, settings, templates, action, handler, form, csrf_cookie) -> Response:
    client = client_of(request)
    csrf = security.csrf_token(settings.secret, csrf_cookie)
    try:
        with ledger.Ledger(settings.db_path) as book:
            user = accounts.session_user(book, request.cookies.get(security.SESSION_COOKIE, ""), settings.idle, settings.absolute)
            lang = lang_of(request, user)
            asked = request.query_params.get("lang")
            if user is not None and asked in i18n.LANGS and asked != user.lang:
                accounts.set_lang(book, user.name, asked)  # the user's setting, for their next browser too
            if user is None:
                if request.method in security.SAFE_METHODS:
                    return RedirectResponse("/login?next=" + quote(request.url.path), status_code=302)
                return error_page(templates, request, 403, lang, csrf)
            if user.must_change and action not in ("password", None):
                return RedirectResponse("/account/password", status_code=302)
            if action is not None and not access.allowed(user, action):
                return error_page(templates, request, 403, lang, csrf, user)
            params = dict(request.path_params)
            if "period" in params:   # parsed once here: the handlers get a Period
                try:
                    params["period"] = Period(params["period"])
                except PeriodError:
                    return error_page(templates, request, 404, lang, csrf, user)
            ctx = Ctx(request, book, user, lang, client, form, settings, csrf)
            with ledger.acting(user.name, client):
                try:
                    return handler(ctx, **params)
                except pages.NotFound:
                    return error_page(templates, request, 404, lang, csrf, user)
                except (ReviewError, AccountError, LedgerError) as error:
                    return error_page(templates, request, 409, lang, csrf, user, said(error, lang))
                except ConfigError as error:
                    return error_page(templates, request, 500, lang, csrf, user, said(error, lang))
    except LedgerError as error:
        lang = lang_of(request, None)
        return error_page(templates, request, 503, lang, csrf, message=said(error, lang))


# ------------------------------------------------------------------ logging in and out
def login(templates: Jinja2Templates, settings: Settings):
    """GET: the login form; POST: check the name and password (throttled), open a session."""

    async def endpoint(request: Request) -> Response:
        csrf_cookie = request.cookies.get(security.CSRF_COOKIE) or security.new_csrf_cookie()
        lang = lang_of(request, None)
        form: dict = {}
        if request.method == "POST":
            got = await _checked_form(request, settings, templates, lang)
            if isinstance(got, Response):
                return got
            form = got
        response = await run_in_threadpool(_login, request, templates, settings, form, csrf_cookie, lang)
        return finish(response, request, settings, csrf_cookie, lang)

    return endpoint


def _safe_next(target: str) -> str:
    """Only a path of this site to go back to after login (no //host, no scheme)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def _login(request, templates, settings: Settings, form: dict, csrf_cookie: str, lang: str) -> Response:
    message, status = "", 200
    target = _safe_next(request.query_params.get("next", "/"))
    if request.method == "POST":
        name, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
        client = client_of(request)
        try:
            with ledger.Ledger(settings.db_path) as book, ledger.acting(name or "-", client):
                user = accounts.login(book, name, password, client)
                token = accounts.open_session(book, user.name, client)
        except AccountError as error:
            message, status = said(error, lang), (429 if error.code == "login_locked" else 401)
        else:
            response = RedirectResponse("/account/password" if user.must_change else target, status_code=303)
            response.set_cookie(security.SESSION_COOKIE, token, httponly=True, samesite="lax", secure=settings.secure_cookies,
                                path="/", max_age=int(settings.absolute))
            # a new CSRF cookie with the new session: a token seen before login is worth nothing after
            response.set_cookie(security.CSRF_COOKIE, security.new_csrf_cookie(), httponly=True, samesite="lax",
                                secure=settings.secure_cookies, path="/")
            return response
    return templates.TemplateResponse(request, "login.html", {
        "t": functools.partial(i18n.text, lang=lang), "lang": lang, "user": None, "message": message,
        "csrf": security.csrf_token(settings.secret, csrf_cookie), "next": target,
        "path": request.url.path}, status_code=status)
