"""Putting the console on an app: its pages, the /api routes, the static files, and the answers
to a refusal (an HTML page, or JSON under /api) and to a missing sign-in."""

from __future__ import annotations

import urllib.parse

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles

from parkhub.hub import Hub

from . import api, pages
from .auth import LOGIN_PATH, Auth, Denied, LoginRequired
from .core import Console, console_of


def _denied(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Denied)
    if request.url.path.startswith("/api"):
        return JSONResponse({"detail": f"{exc.zh} ({exc.en})"}, status_code=exc.status)
    console = console_of(request)
    return console.render(
        request,
        "error.html",
        {"status": exc.status, "zh": exc.zh, "en": exc.en},
        session=console.auth.session_of(request),
        status_code=exc.status,
    )


JSON_PATHS = ("/api", "/push", "/healthz", "/metrics", "/docs", "/openapi", "/redoc")
"""Where a machine calls: errors stay JSON there."""
PAGES = {
    400: ("网址或参数不正确", "malformed address or parameters"),
    404: ("没有这个页面", "page not found"),
    405: ("这个页面不支持这种请求", "method not allowed"),
}


async def _http_error(request: Request, exc: Exception) -> Response:
    """An unknown page, a wrong method or a malformed URL outside the machines' paths: the
    styled page, never JSON."""
    invalid = isinstance(exc, RequestValidationError)
    status = 400 if invalid else getattr(exc, "status_code", 500)
    if request.url.path.startswith(JSON_PATHS) or status not in PAGES:
        if isinstance(exc, RequestValidationError):
            return await request_validation_exception_handler(request, exc)
        assert isinstance(exc, HTTPException)
        return await http_exception_handler(request, exc)
    console = console_of(request)
    zh, en = PAGES[status]
    return console.render(
        request,
        "error.html",
        {"status": status, "zh": zh, "en": en},
        session=console.auth.session_of(request),
        status_code=status,
    )


def _login_required(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/api"):
        return JSONResponse(
            {"detail": "请先登录或提供 API 令牌 (sign in or send a bearer token)"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.method != "GET":
        target = "/console/"
    return Console.redirect(f"{LOGIN_PATH}?" + urllib.parse.urlencode({"next": target}))


def mount_console(
    app: FastAPI,
    hub: Hub,
    *,
    secret_key: str | bytes,
    secure_cookies: bool = False,
    session_hours: float = 12.0,
) -> Console:
    """Add the console pages, the authenticated /api and the static files to `app` (once)."""
    existing = getattr(app.state, "console", None)
    if isinstance(existing, Console):
        return existing
    auth = Auth(
        hub.store.accounts,
        secret_key=secret_key,
        secure_cookies=secure_cookies,
        session_hours=session_hours,
    )
    console = Console(hub, auth)
    app.include_router(pages.router)
    app.include_router(api.router)
    app.mount(
        "/console/static",
        StaticFiles(packages=[("parkhub.web", "static")]),
        name="console-static",
    )
    app.add_exception_handler(Denied, _denied)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _http_error)
    app.add_exception_handler(LoginRequired, _login_required)
    app.openapi_schema = None
    app.state.console = console
    return console
