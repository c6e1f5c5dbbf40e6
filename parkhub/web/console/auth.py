"""Who is calling: signed session cookies checked against the sessions table, CSRF tokens, the
sign-in nonce and throttle, and the FastAPI dependencies that hand routes a session (pages) or a
principal (API)."""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import math
import secrets
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer

from parkhub.errors import ConfigError
from parkhub.hub import Hub
from parkhub.limits import WindowLimit, address_group
from parkhub.store import Accounts, Session, User

log = logging.getLogger("parkhub.console")

COOKIE = "parkhub_session"
LOGIN_COOKIE = "parkhub_login"
LOGIN_PATH = "/console/login"
CSRF_HEADER = "X-CSRF-Token"
LOGIN_FAILURES = 5
"""Wrong passwords for one account from one address within LOGIN_WINDOW before sign-in to that
account pauses for that address."""
ADDRESS_FAILURES = 30
"""Failed sign-ins from one address (any user names) within LOGIN_WINDOW before it pauses."""
LOGIN_WINDOW = 300.0
TRUSTED_ADDRESSES = 10
"""Addresses remembered per account for having signed in to it (the address limit spares them)."""
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
    """Failed sign-ins, limited so that guessing is slow and nobody can lock anyone else out
    (docs/console.md, "Sign-in limits"):

    - per account and address: LOGIN_FAILURES wrong passwords for an account from one address
      (an IPv6 /64) within LOGIN_WINDOW pause sign-in to that account from that address only;
    - per address: ADDRESS_FAILURES failures within LOGIN_WINDOW, whatever the user names,
      pause that address; an address that signed in to an account before is spared this limit
      for that account (the last TRUSTED_ADDRESSES of each, remembered until a restart).

    Only accounts that exist get state of their own, so a spray of made-up names fills nothing
    but the per-address counts. Every table is bounded (`WindowLimit`) and is never wiped.
    """

    def __init__(
        self, known: Callable[[str], bool] = lambda _name: True, *, max_addresses: int = 20_000
    ) -> None:
        # Past max_addresses addresses failing at once, new ones share one allowance: a
        # fresh address may then be paused, an address an account signed in from is not.
        self.addresses = WindowLimit(ADDRESS_FAILURES, LOGIN_WINDOW, max_keys=max_addresses)
        self.pairs = WindowLimit(LOGIN_FAILURES, LOGIN_WINDOW)
        self._known = known
        self._lock = threading.Lock()
        self._trusted: dict[str, deque[str]] = {}

    def _trusts(self, username: str, group: str) -> bool:
        with self._lock:
            return group in self._trusted.get(username, ())

    def wait(self, username: str, address: str | None) -> float:
        """Seconds until `username` may try again from `address` (0: it may now)."""
        group = address_group(address)
        waits = [0.0]
        if not self.pairs.allows((username, group), tracked_only=True):
            waits.append(self.pairs.wait((username, group)))
        if not self._trusts(username, group) and not self.addresses.allows(group):
            waits.append(self.addresses.wait(group))
        return max(waits)

    def blocked(self, username: str, address: str | None) -> bool:
        return self.wait(username, address) > 0

    def failed(self, username: str, address: str | None) -> None:
        group = address_group(address)
        self.addresses.add(group)
        if username and self._known(username):
            self.pairs.add((username, group))

    def reset(self, username: str, address: str | None) -> None:
        """A successful sign-in: its account and address start afresh, and the address is
        remembered for the account."""
        group = address_group(address)
        self.pairs.forget((username, group))
        with self._lock:
            trusted = self._trusted.setdefault(username, deque(maxlen=TRUSTED_ADDRESSES))
            if group not in trusted:
                trusted.append(group)

    @staticmethod
    def minutes(seconds: float) -> int:
        return max(1, math.ceil(seconds / 60))


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
        self.throttle = Throttle(known=lambda name: accounts.get_user(name) is not None)

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
        if len(value) < 16:
            raise ConfigError(
                "PARKHUB_CONSOLE_SECRET 太短 (needs at least 16 characters; "
                "e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
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
