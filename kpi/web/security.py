"""What every response of the workspace owes its users: security headers, a request size
limit, and the CSRF check of every state-changing request.

CSRF: a signed double-submit token. Each browser holds a random value in the
HttpOnly cookie ``kpi_csrf``; every form carries ``csrf_token`` = HMAC-SHA256 of that
value under the server's secret. A request that changes state is refused (403) unless
the token matches the cookie's; a forged request from another site can read neither,
and a planted cookie is useless without the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SESSION_COOKIE = "kpi_session"  # the session token (only its sha256 is stored in the ledger)
CSRF_COOKIE = "kpi_csrf"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


def new_csrf_cookie() -> str:
    return secrets.token_urlsafe(32)


def csrf_token(secret: bytes, cookie: str) -> str:
    """The form token for the browser holding ``cookie``."""
    return hmac.new(secret, cookie.encode("utf-8"), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, cookie: str | None, token: str | None) -> bool:
    """Whether ``token`` is the one made for ``cookie`` (constant time; missing is never ok)."""
    if not cookie or not token:
        return False
    return hmac.compare_digest(csrf_token(secret, cookie), token)


class BodyTooLarge(Exception):
    """A request body longer than the limit."""


class Guard:
    """ASGI middleware: the security headers on every response (``Cache-Control: no-store``
    on all but static files), and a 413 for a body over ``max_body`` bytes (counted as it
    arrives, whatever Content-Length says)."""

    def __init__(self, app, max_body: int, too_large=None):
        """``too_large(scope)``: the response (an ASGI app) that refuses a body over ``max_body``;
        by default a line of plain text."""
        self.app, self.max_body, self.too_large = app, max_body, too_large

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        static = scope["path"].startswith("/static/")
        started = False

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control" or static]
                headers += [(name.encode(), value.encode()) for name, value in HEADERS.items()]
                headers.append((b"cache-control", b"public, max-age=3600" if static else b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            return await self._refuse(scope, receive, send_with_headers)
        received = 0

        async def counted_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge()
            return message

        try:
            await self.app(scope, counted_receive, send_with_headers)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send_with_headers)

    async def _refuse(self, scope, receive, send):
        if self.too_large is None:
            return await _too_large(send)
        return await self.too_large(scope)(scope, receive, send)


async def _too_large(send):
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
    await send({"type": "http.response.body", "body": b"413 request too large"})
