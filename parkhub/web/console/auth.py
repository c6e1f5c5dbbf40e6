"""Who is calling: signed session cookies checked against the sessions table, CSRF tokens, the
sign-in nonce and throttle, and the FastAPI dependencies that hand routes a session (pages) or a
principal (API)."""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer

from parkhub.hub import Hub
from parkhub.store import Accounts, Session, User

log = logging.getLogger("parkhub.console")

COOKIE = "parkhub_session"
LOGIN_COOKIE = "parkhub_login"
LOGIN_PATH = "/console/login"
CSRF_HEADER = "X-CSRF-Token"
LOGIN_FAILURES = 5
"""Wrong passwords for one user name within LOGIN_WINDOW before sign-in pauses for it."""
LOGIN_WINDOW = 300.0
LOGIN_NONCE_SECONDS = 3600
DEMO_USERNAME = "demo"


class Denied(Exception):
    """Refused: rendered as an HTML page under /console, as JSON under /api."""

    def __init__(self, status: int, zh: str, en: str) -> None:
        self.status, self.zh, self.en = status, zh, en
        super().__init__(f"{zh} ({en})")


class LoginRequired(Exception):
    """No valid session: redirect to sign-in (pages) or 401 (API)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who calls the API, and how (a session cookie needs the CSRF header on POST)."""

    user: User
    via: str  # "session" | "token"
    session: Session | None = None

    @property
    def actor(self) -> str:
        return f"{'web' if self.via == 'session' else 'api'}:{self.user.username}"


class Throttle:
    """Wrong passwords per user name: after LOGIN_FAILURES in LOGIN_WINDOW, wait it out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, list[float]] = {}

    def blocked(self, username: str) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = [x for x in self._failures.get(username, []) if now - x < LOGIN_WINDOW]
            self._failures[username] = recent
            return len(recent) >= LOGIN_FAILURES

    def failed(self, username: str) -> None:
        with self._lock:
            self._failures.setdefault(username, []).append(time.monotonic())
            if len(self._failures) > 10_000:  # bounded memory under a user-name spray
                self._failures.clear()

    def reset(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username, None)


def check_csrf(session: Session, token: str | None) -> None:
    """The token a form or the X-CSRF-Token header sent must be the session's."""
    if not token or not hmac.compare_digest(token, session.csrf_token):
        raise Denied(
            403,
            "表单已失效或来源不明，请刷新页面后重试",
            "CSRF token missing or invalid: reload the page and try again",
        )


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: a console path only, never another site."""
    if not target or not target.startswith("/console/") or target.startswith("//"):
        return "/console/"
    if any(c in target for c in "\\\r\n"):
        return "/console/"
    return target


class Auth:
    """Sessions and sign-in of one console: the signed cookies, their lifetime, the throttle."""

    def __init__(
        self,
        accounts: Accounts,
        *,
        secret_key: str | bytes,
        secure_cookies: bool = False,
        session_hours: float = 12.0,
    ) -> None:
        if len(secret_key) < 16:
            raise ValueError("the console secret key needs at least 16 characters")
        self.accounts = accounts
        self.secure_cookies = secure_cookies
        self.ttl = dt.timedelta(hours=session_hours)
        self._session_signer = URLSafeTimedSerializer(secret_key, salt="parkhub.console.session")
        self._login_signer = URLSafeTimedSerializer(secret_key, salt="parkhub.console.login")
        self.throttle = Throttle()

    def session_of(self, request: Request) -> Session | None:
        """The request's session: a cookie we signed, for a session the table still holds."""
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            token = self._session_signer.loads(raw, max_age=int(self.ttl.total_seconds()))
        except BadSignature:
            return None
        if not isinstance(token, str):
            return None
        return self.accounts.get_session(token)

    def start_session(self, response: Response, user: User) -> Session:
        """A new session for `user`, its cookie set on `response`."""
        session = self.accounts.create_session(user, ttl=self.ttl)
        response.set_cookie(
            COOKIE,
            self._session_signer.dumps(session.token),
            max_age=int(self.ttl.total_seconds()),
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.secure_cookies,
        )
        return session

    @staticmethod
    def new_login_nonce() -> str:
        """The CSRF token of a sign-in form (there is no session yet to hold one)."""
        return secrets.token_urlsafe(24)

    def set_login_nonce(self, response: Response, nonce: str) -> None:
        """Keep the form's nonce in a signed cookie of this browser, for `check_login_nonce`."""
        response.set_cookie(
            LOGIN_COOKIE,
            self._login_signer.dumps(nonce),
            max_age=LOGIN_NONCE_SECONDS,
            path=LOGIN_PATH,
            httponly=True,
            samesite="lax",
            secure=self.secure_cookies,
        )

    def check_login_nonce(self, request: Request, token: str) -> None:
        """The sign-in form must carry the nonce of this browser's cookie."""
        nonce = None
        raw = request.cookies.get(LOGIN_COOKIE)
        if raw:
            try:
                nonce = self._login_signer.loads(raw, max_age=LOGIN_NONCE_SECONDS)
            except BadSignature:
                nonce = None
        if not isinstance(nonce, str) or not token or not hmac.compare_digest(nonce, token):
            raise Denied(
                403,
                "登录表单已失效，请刷新页面后重试",
                "sign-in form expired or forged (CSRF): reload the page",
            )


# -- dependencies -----------------------------------------------------------------------------


def auth_of(request: Request) -> Auth:
    """The Auth of the console mounted on the request's app."""
    auth = request.app.state.console.auth
    assert isinstance(auth, Auth)
    return auth


def page_session(request: Request) -> Session:
    session = auth_of(request).session_of(request)
    if session is None:
        raise LoginRequired()
    return session


_bearer = HTTPBearer(auto_error=False, description="API token: `parkhub user token NAME`")
_cookie = APIKeyCookie(name=COOKIE, auto_error=False, description="console session cookie")


def principal(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    _session_cookie: Annotated[str | None, Depends(_cookie)],
) -> Principal:
    """A bearer token's user, or a session's (with the CSRF header on anything but a read)."""
    auth = auth_of(request)
    if creds is not None:
        user = auth.accounts.user_for_api_token(creds.credentials)
        if user is None:
            raise HTTPException(
                401, "API 令牌无效 (invalid API token)", headers={"WWW-Authenticate": "Bearer"}
            )
        return Principal(user, "token")
    session = auth.session_of(request)
    if session is None:
        raise LoginRequired()
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        check_csrf(session, request.headers.get(CSRF_HEADER))
    return Principal(session.user, "session", session)


PageSession = Annotated[Session, Depends(page_session)]
Caller = Annotated[Principal, Depends(principal)]


# -- keys and accounts ------------------------------------------------------------------------


def console_secret(environ: Mapping[str, str]) -> str:
    """PARKHUB_CONSOLE_SECRET, or a random key for this process (sessions end at restart)."""
    value = environ.get("PARKHUB_CONSOLE_SECRET")
    if value:
        return value
    log.warning("PARKHUB_CONSOLE_SECRET is not set: console sessions last until this process stops")
    return secrets.token_urlsafe(32)


def demo_account(hub: Hub, *, username: str = DEMO_USERNAME) -> tuple[str, str]:
    """Create (or reset) the demo operator of every park; return (user name, new password).
    For the demo database only."""
    accounts = hub.store.accounts
    password = secrets.token_urlsafe(12)
    parks = [p.id for p in hub.config.parks]
    if accounts.get_user(username) is None:
        accounts.create_user(
            username, password, role="operator", parks=parks, display_name="演示操作员",
            actor="demo",
        )  # fmt: skip
    else:
        accounts.set_password(username, password, actor="demo")
        accounts.set_parks(username, parks, actor="demo")
    return username, password
