"""``monitor-tui --web``: the console in a browser (textual-serve), behind a token.

Every request needs the session cookie that a correct token buys: ``/?token=T`` (the link
printed at start) or the login form. The token comes from ``$MONITOR_WEB_TOKEN`` or
``--web-token-file``, else one is generated and printed. The cookie is HttpOnly and
SameSite=Strict, and a websocket from another origin is refused, so another site open in
the same browser cannot drive the console.
"""

from __future__ import annotations

import hmac
import html
import os
import secrets
from pathlib import Path
from typing import Any

from aiohttp import web
from textual_serve.server import Server

from core.config import ConfigError

COOKIE = "monitor_session"
LOGIN = """<!doctype html><html><head><title>monitor: log in</title></head>
<body style="font-family: sans-serif; margin: 4em">
<h1>monitor</h1><p>{message}</p>
<form method="post" action="/login">
<label>token <input id="token" name="token" type="password" autofocus></label>
<button id="login" type="submit">log in</button></form></body></html>"""


def load_token(token_file: str | None) -> tuple[str, bool]:
    """The token, and whether it was generated here (so it must be printed)."""
    if token_file:
        try:
            token = Path(token_file).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"--web-token-file {token_file}: {exc.strerror}") from None
        if len(token) < 8:
            raise ConfigError(f"--web-token-file {token_file}: use at least 8 characters")
        return token, False
    env = os.environ.get("MONITOR_WEB_TOKEN", "").strip()
    if env:
        if len(env) < 8:
            raise ConfigError("MONITOR_WEB_TOKEN: use at least 8 characters")
        return env, False
    return secrets.token_urlsafe(18), True


class TokenServer(Server):
    """textual-serve's server with every route behind the token."""

    def __init__(self, command: str, host: str, port: int, token: str) -> None:
        super().__init__(command, host=host, port=port, title="monitor")
        self.token = token
        self.session = secrets.token_urlsafe(32)  # what the cookie holds, never the token

    def initialize_logging(self) -> None:
        pass  # textual-serve's rich logging would print every request to our terminal

    async def on_startup(self, app: web.Application) -> None:
        pass  # no banner: the CLI has said where and how to log in

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._guard)
        app.router.add_post("/login", self._login)
        return app

    def _ok(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self.token.encode())

    def _logged_in(self, request: web.Request) -> web.Response:
        response = web.HTTPSeeOther("/")
        response.set_cookie(COOKIE, self.session, httponly=True, samesite="Strict")
        return response

    async def _login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        token = form.get("token")
        if isinstance(token, str) and self._ok(token):
            return self._logged_in(request)
        return _login_page("wrong token", 401)

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path == "/login" and request.method == "POST":
            return await handler(request)
        token = request.query.get("token")
        if token is not None:
            if self._ok(token):
                return self._logged_in(request)
            return _login_page("wrong token", 401)
        cookie = request.cookies.get(COOKIE, "")
        if not hmac.compare_digest(cookie.encode(), self.session.encode()):
            if request.path == "/":
                return _login_page("this console needs its token (printed when "
                                   "monitor-tui --web started)", 401)
            return web.Response(status=401, text="401: log in at /\n")
        origin = request.headers.get("Origin")
        if origin and origin.split("://", 1)[-1] != request.host:
            return web.Response(status=403, text="403: cross-origin request refused\n")
        response: web.StreamResponse = await handler(request)
        return response


def _login_page(message: str, status: int) -> web.Response:
    return web.Response(status=status, content_type="text/html",
                        text=LOGIN.format(message=html.escape(message)))
