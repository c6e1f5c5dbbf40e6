"""Sign-in, sign-out and the account page (a new API token, a new password)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from parkhub.store import AccountError, check_password_strength
from parkhub.web.console.auth import (
    COOKIE,
    LOGIN_COOKIE,
    LOGIN_PATH,
    PageSession,
    check_csrf,
    safe_next,
)
from parkhub.web.console.core import Console, ConsoleDep

router = APIRouter(include_in_schema=False)


def login_form(
    console: Console, request: Request, target: str, *, error: str | None, status_code: int
) -> Response:
    """The sign-in page, with a fresh nonce for its form."""
    nonce = console.auth.new_login_nonce()
    response = console.render(
        request,
        "login.html",
        {"login_csrf": nonce, "next": target, "error": error},
        status_code=status_code,
    )
    console.auth.set_login_nonce(response, nonce)
    return response


@router.get("/")
@router.get("/console")
def root() -> RedirectResponse:
    return Console.redirect("/console/")


@router.get(LOGIN_PATH)
def login_page(console: ConsoleDep, request: Request, next: str | None = None) -> Response:
    if console.auth.session_of(request) is not None:
        return console.redirect(safe_next(next))
    return login_form(console, request, safe_next(next), error=None, status_code=200)


@router.post(LOGIN_PATH)
def login(
    console: ConsoleDep,
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/console/",
) -> Response:
    auth = console.auth
    auth.check_login_nonce(request, csrf_token)
    username = username.strip()
    target = safe_next(next)
    address = request.client.host if request.client else None
    wait = auth.throttle.wait(username, address)
    if wait > 0:
        minutes = auth.throttle.minutes(wait)
        return login_form(
            console,
            request,
            target,
            error=f"尝试次数过多，请 {minutes} 分钟后再试 (too many attempts: wait {minutes} min)",
            status_code=429,
        )
    user = console.accounts.verify_password(username, password) if username else None
    if user is None:
        auth.throttle.failed(username, address)
        console.audit("web", "login_failed", {"username": username[:64]})
        return login_form(
            console,
            request,
            target,
            error="用户名或密码错误 (wrong user name or password)",
            status_code=401,
        )
    auth.throttle.reset(username, address)
    response = console.redirect(target)
    auth.start_session(response, user)
    console.audit(f"web:{user.username}", "login", {})
    response.delete_cookie(LOGIN_COOKIE, path=LOGIN_PATH)
    return response


@router.post("/console/logout")
def logout(
    console: ConsoleDep, session: PageSession, csrf_token: Annotated[str, Form()] = ""
) -> RedirectResponse:
    check_csrf(session, csrf_token)
    console.accounts.delete_session(session.token)
    console.audit(f"web:{session.user.username}", "logout", {})
    response = console.redirect(LOGIN_PATH)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/console/account")
def account(console: ConsoleDep, request: Request, session: PageSession) -> Response:
    return console.render(request, "account.html", {"new_token": None}, session=session)


@router.post("/console/account/token")
def account_token(
    console: ConsoleDep,
    request: Request,
    session: PageSession,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(session, csrf_token)
    username = session.user.username
    token = console.accounts.create_api_token(username, actor=f"web:{username}")
    fresh = console.accounts.get_session(session.token) or session  # has_api_token is now true
    return console.render(request, "account.html", {"new_token": token}, session=fresh)


def password_error(console: Console, username: str, current: str, new: str, confirm: str) -> str:
    """Why the password cannot be changed so ("" when it can)."""
    if console.accounts.verify_password(username, current) is None:
        return "当前密码不对 (current password is wrong)"
    if new != confirm:
        return "两次输入的新密码不一致 (the new passwords differ)"
    try:
        check_password_strength(new)
    except AccountError as exc:
        return str(exc)
    return ""


@router.post("/console/account/password")
def account_password(
    console: ConsoleDep,
    request: Request,
    session: PageSession,
    current: Annotated[str, Form()] = "",
    new: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(session, csrf_token)
    username = session.user.username
    error = password_error(console, username, current, new, confirm)
    if error:
        return console.render(
            request,
            "account.html",
            {"new_token": None, "password_error": error},
            session=session,
            status_code=422,
        )
    console.accounts.set_password(username, new, actor=f"web:{username}")
    response = console.redirect("/console/account?msg=password")
    console.auth.start_session(response, session.user)  # set_password ended every session
    return response
