"""The operator console (运营控制台): server-rendered pages and the authenticated JSON API.

Pages under /console (Jinja2, no JavaScript): sign-in, a dashboard per park (each platform's last
successful delivery, counts by status, failures and their reasons, the reporting calendar and
what is missing), monthly entry (a form per enterprise, the xlsx template, upload with the row
errors), the deliveries with their payloads and receipts, and replay of dead deliveries.

The JSON API under /api serves the same data to a session cookie or a per-user bearer token
(`Authorization: Bearer phk_...`), and replaces the unauthenticated /api routes of
`create_app`. Security, in every route:

- accounts and roles in parkhub.store.accounts: an operator sees only their parks (checked on
  every park URL, every delivery by its own park, every upload); an administrator sees all;
- the session cookie is signed (itsdangerous) and validated server-side (the sessions table:
  expiry, sign-out, deactivated users), HttpOnly and SameSite=Lax (Secure behind HTTPS);
- every POST form carries the session's CSRF token (sign-in: a signed per-browser nonce); API
  POSTs with the cookie need the X-CSRF-Token header, bearer tokens need none;
- entry goes through `hub.import_entry`, so a form and a workbook are validated by one path;
- replays and imports are audited with the user as actor (`web:<user>`, `api:<user>`).
"""

from __future__ import annotations

import csv
import datetime as dt
import hmac
import io
import logging
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    File,
    Form,
    HTTPException,
    Query,
    Request,
    UploadFile,
)
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from parkhub.adapters.vendors.manual import (
    MONTHLY,
    MONTHLY_COLUMNS,
    MONTHLY_VALUES,
    UNIT_FACTORS,
    XLSX_CONTENT_TYPE,
    Column,
    format_report,
    template_filename,
)
from parkhub.canonical import jsonutil
from parkhub.canonical.timeutil import SHANGHAI, previous_period, utcnow
from parkhub.config import ParkConfig
from parkhub.errors import ConfigError, ForeignRecordsError, ParkhubError
from parkhub.hub import Hub
from parkhub.ingest import IngestResult
from parkhub.ingest.sources import entry_source
from parkhub.reports.service import subscriptions
from parkhub.store import operator_summary
from parkhub.store import schema as t
from parkhub.store.accounts import AccountError, Session, User, check_password_strength

log = logging.getLogger("parkhub.console")

COOKIE = "parkhub_session"
LOGIN_COOKIE = "parkhub_login"
CSRF_HEADER = "X-CSRF-Token"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
LOGIN_FAILURES = 5
"""Wrong passwords for one user name within LOGIN_WINDOW before sign-in pauses for it."""
LOGIN_WINDOW = 300.0
DEMO_USERNAME = "demo"

STATUS_LABELS = {
    "sent": "已送达",
    "pending": "待发送",
    "in_flight": "发送中",
    "failed": "失败待重试",
    "dead": "已停止重试",
    "superseded": "已被新版本取代",
}
STATE_LABELS = {
    "delivered": "已报送",
    "delivered_incomplete": "已报送（数据不全）",
    "pending": "待报送",
    "not_built": "未生成",
    "at_risk": "临近截止",
    "late": "已逾期",
    "failed": "报送失败",
}
INBOX_LABELS = {"rejected": "被拒收", "partial": "部分行有错", "received": "待解析"}
NOTICES = {
    "saved": "已保存：数据已入库，并已排队报送。 (Saved and queued for delivery.)",
    "unchanged": "数据与已保存的一致，无需修改。 (Nothing changed.)",
    "replayed": "已重新排队投递。 (Queued again for delivery.)",
    "not_dead": "只有“已停止重试”的投递可以重新投递。 (Only dead deliveries can be replayed.)",
    "password": "密码已修改，其他登录已退出。 (Password changed; other sessions signed out.)",
}
FORM_COLUMNS: tuple[Column, ...] = tuple(c for c in MONTHLY_COLUMNS if c.field in MONTHLY_VALUES)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Denied(Exception):
    """Refused: rendered as an HTML page under /console, as JSON under /api."""

    def __init__(self, status: int, zh: str, en: str) -> None:
        self.status, self.zh, self.en = status, zh, en
        super().__init__(f"{zh} ({en})")


class LoginRequired(Exception):
    """No valid session: redirect to sign-in (pages) or 401 (API)."""


# -- park-scoped queries ----------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def park_last_sent(hub: Hub, park_id: str) -> dict[str, dict[str, Any]]:
    """Per platform, the park's most recent successful delivery."""
    d = t.deliveries.c
    latest = (
        select(func.max(d.id).label("id"))
        .where(d.park_id == park_id, d.status == "sent")
        .group_by(d.platform)
        .subquery()
    )
    q = select(d.platform, d.id, d.report, d.record_key, d.revision, d.receipt_id, d.sent_at).join(
        latest, d.id == latest.c.id
    )
    with hub.store.engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(q)]
    return {row.pop("platform"): row for row in rows}


def park_deliveries(
    hub: Hub,
    park_ids: Sequence[str],
    *,
    status: Sequence[str] | None = None,
    platform: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    d = t.deliveries.c
    q = (
        select(
            d.id,
            d.park_id,
            d.platform,
            d.report,
            d.record_kind,
            d.record_key,
            d.revision,
            d.correction,
            d.status,
            d.attempts,
            d.last_error,
            d.error_kind,
            d.receipt_id,
            d.created_at,
            d.updated_at,
            d.sent_at,
            d.next_attempt_at,
        )
        .where(d.park_id.in_(list(park_ids)))
        .order_by(d.id.desc())
        .limit(limit)
    )
    if status:
        q = q.where(d.status.in_(list(status)))
    if platform:
        q = q.where(d.platform == platform)
    with hub.store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def delivery_row(hub: Hub, delivery_id: int) -> dict[str, Any] | None:
    found = hub.store.outbox.deliveries(ids=[delivery_id], limit=1)
    return found[0] if found else None


def _parse_json_text(text: str | None) -> Any:
    if not text:
        return None
    try:
        return jsonutil.loads(text)
    except jsonutil.JSONDecodeError:
        return text


def delivery_detail(row: Mapping[str, Any]) -> dict[str, Any]:
    """A delivery for display and the API: payload and receipt parsed when they are JSON."""
    out = {k: v for k, v in row.items() if k not in ("lease_owner", "lease_until")}
    out["payload"] = _parse_json_text(row.get("payload"))
    out["receipt"] = _parse_json_text(row.get("receipt"))
    return out


def park_sources(hub: Hub, park_id: str) -> list[str]:
    return [s.name for s in hub.config.sources if s.park == park_id] + [entry_source(park_id)]


def park_inbox_problems(hub: Hub, park_id: str, *, limit: int = 10) -> list[dict[str, Any]]:
    r = t.raw_inbox.c
    with hub.store.engine.connect() as conn:
        rows = conn.execute(
            select(r.id, r.source, r.stream, r.status, r.reason, r.received_at, r.meta)
            .where(
                r.source.in_(park_sources(hub, park_id)),
                r.status.in_(("rejected", "partial")),
            )
            .order_by(r.id.desc())
            .limit(limit)
        ).all()
    out = []
    for row in rows:
        meta = _parse_json_text(row.meta)
        filename = meta.get("filename") if isinstance(meta, dict) else None
        out.append(
            {
                "raw_id": row.id,
                "source": row.source,
                "stream": row.stream,
                "status": row.status,
                "reason": row.reason,
                "received_at": row.received_at,
                "filename": filename,
            }
        )
    return out


def park_platforms(hub: Hub, park_id: str) -> dict[str, list[str]]:
    """Platforms (enabled) taking reports from this park, with those reports."""
    out: dict[str, list[str]] = {}
    for s in subscriptions(hub.config):
        pc, sub = s.platform, s.subscription
        if sub.parks and park_id not in sub.parks:
            continue
        out.setdefault(pc.name, []).append(sub.report)
    return out


def park_dashboard(hub: Hub, park_id: str, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything the dashboard shows for one park (JSON-able but for datetimes)."""
    park = hub.config.park(park_id)
    counts = hub.store.outbox.status_counts(park_id=park_id)
    routed = park_platforms(hub, park_id)
    last = park_last_sent(hub, park_id)
    platforms = [
        {
            "name": name,
            "reports": routed.get(name, []),
            "counts": operator_summary(counts.get(name, {})),
            "last_sent": last.get(name),
        }
        for name in [*routed, *sorted(set(counts) - set(routed))]
    ]
    calendar = [e.as_dict() for e in hub.calendar(park_id=park_id, now=now)]
    return {
        "park": {"id": park.id, "name": park.name, "division_code": park.division_code},
        "platforms": platforms,
        "failures": park_deliveries(hub, [park_id], status=["dead", "failed"], limit=20),
        "calendar": calendar,
        "attention": [e for e in calendar if e["state"] in ("at_risk", "late", "failed")],
        "inbox_problems": park_inbox_problems(hub, park_id),
        "records": park_record_counts(hub, park_id),
        "generated_at": utcnow(),
    }


def park_record_counts(hub: Hub, park_id: str) -> dict[str, int]:
    rc = t.records.c
    with hub.store.engine.connect() as conn:
        rows = conn.execute(
            select(rc.kind, func.count()).where(rc.park_id == park_id).group_by(rc.kind)
        ).all()
    return {kind: int(n) for kind, n in rows}


# -- monthly entry ----------------------------------------------------------------------------


def _fmt_number(value: float | int) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{round(float(value), 6):f}".rstrip("0").rstrip(".")


def form_values(doc: Mapping[str, Any] | None) -> dict[str, str]:
    """A stored EnterpriseMonthly document in the form's (the template's) units."""
    out: dict[str, str] = {}
    for col in FORM_COLUMNS:
        value = (doc or {}).get(col.field)
        if value is None or col.quantity is None or col.unit is None:
            out[col.field] = ""
            continue
        number = float(value) / UNIT_FACTORS[col.quantity][col.unit.lower()]
        out[col.field] = str(round(number)) if col.kind == "count" else _fmt_number(number)
    return out


def form_csv(credit_code: str, period: str, values: Mapping[str, str], note: str) -> bytes:
    """The form as a one-row CSV with the template's headers, for `hub.import_entry`: the same
    validation as a workbook. The note (remarks, never imported) makes each submission a new
    inbox message, so a value changed elsewhere and entered again is applied again."""
    headers = ["统一社会信用代码", "统计期间", *(c.header for c in FORM_COLUMNS), "备注"]
    row = [credit_code, period, *(values.get(c.field, "") for c in FORM_COLUMNS), note]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerow(row)
    return buffer.getvalue().encode("utf-8")


def recent_periods(count: int = 13) -> list[str]:
    out = []
    period = previous_period(utcnow())
    year, month = (int(p) for p in period.split("-"))
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out


def _period_or_default(period: str | None) -> str:
    if period is None or period == "":
        return previous_period(utcnow())
    if len(period) != 7 or period[4] != "-" or not (period[:4] + period[5:]).isdigit():
        raise Denied(400, "统计期间格式应为 YYYY-MM", "period must be YYYY-MM")
    if not 1 <= int(period[5:]) <= 12:
        raise Denied(400, "统计期间格式应为 YYYY-MM", "period must be YYYY-MM")
    return period


def import_summary(result: IngestResult) -> dict[str, Any]:
    return {
        "raw_id": result.raw_id,
        "duplicate": result.duplicate,
        "status": result.status,
        "new": result.new,
        "changed": result.changed,
        "unchanged": result.unchanged,
        "deliveries": result.deliveries,
        "errors": len(result.errors),
        "problems": format_report(result, include_warnings=True),
    }


def refused_summary(problems: list[dict[str, Any]]) -> dict[str, Any]:
    """An upload refused before import: nothing stored."""
    return {
        "raw_id": None,
        "duplicate": False,
        "status": "refused",
        "new": 0,
        "changed": 0,
        "unchanged": 0,
        "deliveries": 0,
        "errors": len(problems),
        "problems": problems,
    }


def _content_disposition(filename: str) -> str:
    quoted = urllib.parse.quote(filename)
    return f"attachment; filename=\"template.xlsx\"; filename*=UTF-8''{quoted}"


# -- rendering helpers ------------------------------------------------------------------------


def _bj(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None or value == "":
        return ""
    when: dt.datetime
    if isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    elif isinstance(value, dt.datetime):
        when = value
    else:
        return str(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(SHANGHAI).strftime(fmt)


def _pretty(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("parkhub.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["bj"] = _bj
    env.filters["pretty"] = _pretty
    env.filters["status_label"] = lambda s: STATUS_LABELS.get(s, s)
    env.filters["state_label"] = lambda s: STATE_LABELS.get(s, s)
    env.filters["inbox_label"] = lambda s: INBOX_LABELS.get(s, s)
    return env


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/console/") or target.startswith("//"):
        return "/console/"
    if any(c in target for c in "\\\r\n"):
        return "/console/"
    return target


@dataclass(frozen=True, slots=True)
class Principal:
    """Who calls the API, and how (a session cookie needs the CSRF header on POST)."""

    user: User
    via: str  # "session" | "token"
    session: Session | None = None

    @property
    def actor(self) -> str:
        return f"{'web' if self.via == 'session' else 'api'}:{self.user.username}"


class _Throttle:
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


def _console(request: Request) -> Console:
    console = request.app.state.console
    assert isinstance(console, Console)
    return console


def _page_session(request: Request) -> Session:
    return _console(request).page_session(request)


_bearer = HTTPBearer(auto_error=False, description="API token: `parkhub user token NAME`")
_cookie = APIKeyCookie(name=COOKIE, auto_error=False, description="console session cookie")


def _principal(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    _session_cookie: Annotated[str | None, Depends(_cookie)],
) -> Principal:
    console = _console(request)
    if creds is not None:
        user = console.accounts.user_for_api_token(creds.credentials)
        if user is None:
            raise HTTPException(
                401, "API 令牌无效 (invalid API token)", headers={"WWW-Authenticate": "Bearer"}
            )
        return Principal(user, "token")
    session = console.session_of(request)
    if session is None:
        raise LoginRequired()
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        console.check_csrf(session, request.headers.get(CSRF_HEADER))
    return Principal(session.user, "session", session)


PageSession = Annotated[Session, Depends(_page_session)]
Caller = Annotated[Principal, Depends(_principal)]


# -- the console ------------------------------------------------------------------------------


class Console:
    """Pages and API of the console for one hub; `install(app)` mounts them."""

    def __init__(
        self,
        hub: Hub,
        *,
        secret_key: str | bytes,
        secure_cookies: bool = False,
        session_hours: float = 12.0,
    ) -> None:
        if len(secret_key) < 16:
            raise ValueError("the console secret key needs at least 16 characters")
        self.hub = hub
        self.accounts = hub.store.accounts
        self.secure_cookies = secure_cookies
        self.ttl = dt.timedelta(hours=session_hours)
        self._session_signer = URLSafeTimedSerializer(secret_key, salt="parkhub.console.session")
        self._login_signer = URLSafeTimedSerializer(secret_key, salt="parkhub.console.login")
        self._throttle = _Throttle()
        self.templates = Jinja2Templates(env=_environment())

    # -- sessions and checks ------------------------------------------------------------------

    def session_of(self, request: Request) -> Session | None:
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

    def page_session(self, request: Request) -> Session:
        session = self.session_of(request)
        if session is None:
            raise LoginRequired()
        return session

    @staticmethod
    def check_csrf(session: Session, token: str | None) -> None:
        if not token or not hmac.compare_digest(token, session.csrf_token):
            raise Denied(
                403,
                "表单已失效或来源不明，请刷新页面后重试",
                "CSRF token missing or invalid: reload the page and try again",
            )

    def park(self, user: User, park_id: str) -> ParkConfig:
        try:
            park = self.hub.config.park(park_id)
        except ConfigError:
            raise Denied(404, "没有这个园区", f"no park {park_id!r}") from None
        if not user.can_see(park_id):
            raise Denied(403, "您没有这个园区的权限", f"no access to park {park_id!r}")
        return park

    def park_delivery(self, user: User, park_id: str, delivery_id: int) -> dict[str, Any]:
        self.park(user, park_id)
        row = delivery_row(self.hub, delivery_id)
        if row is None or row["park_id"] != park_id:
            raise Denied(404, "没有这条投递记录", f"no delivery {delivery_id} in this park")
        return row

    def visible_parks(self, user: User) -> list[ParkConfig]:
        return [p for p in self.hub.config.parks if user.can_see(p.id)]

    # -- rendering ----------------------------------------------------------------------------

    def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any],
        *,
        session: Session | None = None,
        status_code: int = 200,
    ) -> HTMLResponse:
        ctx = {
            "session": session,
            "user": session.user if session else None,
            "csrf_token": session.csrf_token if session else "",
            "parks": self.visible_parks(session.user) if session else [],
            "notice": NOTICES.get(request.query_params.get("msg", "")),
            **context,
        }
        response = self.templates.TemplateResponse(
            request, name, ctx, status_code=status_code, headers=SECURITY_HEADERS
        )
        return response

    def redirect(self, url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})

    def _set_session_cookie(self, response: Response, session: Session) -> None:
        response.set_cookie(
            COOKIE,
            self._session_signer.dumps(session.token),
            max_age=int(self.ttl.total_seconds()),
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.secure_cookies,
        )

    # -- install ------------------------------------------------------------------------------

    def install(self, app: FastAPI) -> None:
        pages = self._pages()
        api = self._api()
        taken = {
            (r.path, m) for r in api.routes if isinstance(r, APIRoute) for m in (r.methods or ())
        }
        # The console's API replaces create_app's unauthenticated routes of the same paths.
        app.router.routes[:] = [
            r
            for r in app.router.routes
            if not (
                isinstance(r, APIRoute) and any((r.path, m) in taken for m in (r.methods or ()))
            )
        ]
        app.include_router(pages)
        app.include_router(api)
        app.mount(
            "/console/static",
            StaticFiles(packages=[("parkhub.web", "static")]),
            name="console-static",
        )
        app.add_exception_handler(Denied, self._denied_handler)
        app.add_exception_handler(LoginRequired, self._login_handler)
        app.openapi_schema = None
        app.state.console = self

    def _denied_handler(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Denied)
        if request.url.path.startswith("/api"):
            return JSONResponse({"detail": f"{exc.zh} ({exc.en})"}, status_code=exc.status)
        session = self.session_of(request)
        return self.render(
            request,
            "error.html",
            {"status": exc.status, "zh": exc.zh, "en": exc.en},
            session=session,
            status_code=exc.status,
        )

    def _login_handler(self, request: Request, exc: Exception) -> Response:
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
        return self.redirect("/console/login?" + urllib.parse.urlencode({"next": target}))

    # -- pages --------------------------------------------------------------------------------

    def _pages(self) -> APIRouter:
        router = APIRouter(include_in_schema=False)
        hub = self.hub

        @router.get("/")
        def root() -> RedirectResponse:
            return self.redirect("/console/")

        @router.get("/console")
        def console_root() -> RedirectResponse:
            return self.redirect("/console/")

        @router.get("/console/login")
        def login_page(request: Request, next: str | None = None) -> Response:
            if self.session_of(request) is not None:
                return self.redirect(_safe_next(next))
            return self._login_form(request, _safe_next(next), error=None, status_code=200)

        @router.post("/console/login")
        def login(
            request: Request,
            username: Annotated[str, Form()] = "",
            password: Annotated[str, Form()] = "",
            csrf_token: Annotated[str, Form()] = "",
            next: Annotated[str, Form()] = "/console/",
        ) -> Response:
            nonce = None
            raw = request.cookies.get(LOGIN_COOKIE)
            if raw:
                try:
                    nonce = self._login_signer.loads(raw, max_age=3600)
                except BadSignature:
                    nonce = None
            if (
                not isinstance(nonce, str)
                or not csrf_token
                or not hmac.compare_digest(nonce, csrf_token)
            ):
                raise Denied(
                    403,
                    "登录表单已失效，请刷新页面后重试",
                    "sign-in form expired or forged (CSRF): reload the page",
                )
            username = username.strip()
            target = _safe_next(next)
            if self._throttle.blocked(username):
                return self._login_form(
                    request,
                    target,
                    error="尝试次数过多，请 5 分钟后再试 (too many attempts: wait 5 minutes)",
                    status_code=429,
                )
            user = self.accounts.verify_password(username, password) if username else None
            if user is None:
                self._throttle.failed(username)
                with hub.store.begin() as conn:
                    hub.store.audit.add(conn, "web", "login_failed", {"username": username[:64]})
                return self._login_form(
                    request,
                    target,
                    error="用户名或密码错误 (wrong user name or password)",
                    status_code=401,
                )
            self._throttle.reset(username)
            session = self.accounts.create_session(user, ttl=self.ttl)
            with hub.store.begin() as conn:
                hub.store.audit.add(conn, f"web:{user.username}", "login", {})
            response = self.redirect(target)
            self._set_session_cookie(response, session)
            response.delete_cookie(LOGIN_COOKIE, path="/console/login")
            return response

        @router.post("/console/logout")
        def logout(
            session: PageSession, csrf_token: Annotated[str, Form()] = ""
        ) -> RedirectResponse:
            self.check_csrf(session, csrf_token)
            self.accounts.delete_session(session.token)
            with hub.store.begin() as conn:
                hub.store.audit.add(conn, f"web:{session.user.username}", "logout", {})
            response = self.redirect("/console/login")
            response.delete_cookie(COOKIE, path="/")
            return response

        @router.get("/console/")
        def home(request: Request, session: PageSession) -> Response:
            parks = self.visible_parks(session.user)
            if len(parks) == 1:
                return self.redirect(f"/console/parks/{parks[0].id}")
            summaries = []
            by_park = hub.store.outbox.status_counts_by_park()  # one scan for every park
            for park in parks:
                counts = by_park.get(park.id, {})
                summaries.append(
                    {
                        "park": park,
                        "dead": sum(c.get("dead", 0) for c in counts.values()),
                        "failed": sum(c.get("failed", 0) for c in counts.values()),
                        "sent": sum(c.get("sent", 0) for c in counts.values()),
                    }
                )
            return self.render(request, "parks.html", {"summaries": summaries}, session=session)

        @router.get("/console/parks/{park_id}")
        def dashboard(request: Request, park_id: str, session: PageSession) -> Response:
            park = self.park(session.user, park_id)
            data = park_dashboard(hub, park_id)
            return self.render(
                request, "dashboard.html", {"park": park, "d": data}, session=session
            )

        @router.get("/console/parks/{park_id}/deliveries")
        def deliveries(
            request: Request,
            park_id: str,
            session: PageSession,
            platform: str | None = None,
            status: str | None = None,
            limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        ) -> Response:
            park = self.park(session.user, park_id)
            rows = park_deliveries(
                hub,
                [park_id],
                status=[status] if status else None,
                platform=platform or None,
                limit=limit,
            )
            platforms = sorted(
                set(park_platforms(hub, park_id))
                | set(hub.store.outbox.status_counts(park_id=park_id))
            )
            return self.render(
                request,
                "deliveries.html",
                {
                    "park": park,
                    "rows": rows,
                    "platform": platform or "",
                    "status": status or "",
                    "platforms": platforms,
                    "statuses": STATUS_LABELS,
                    "limit": limit,
                },
                session=session,
            )

        @router.get("/console/parks/{park_id}/deliveries/{delivery_id}")
        def delivery(
            request: Request, park_id: str, delivery_id: int, session: PageSession
        ) -> Response:
            park = self.park(session.user, park_id)
            row = self.park_delivery(session.user, park_id, delivery_id)
            record = hub.store.records.get(row["record_kind"], row["record_key"])
            return self.render(
                request,
                "delivery.html",
                {
                    "park": park,
                    "d": delivery_detail(row),
                    "record": _parse_json_text(record["doc"]) if record else None,
                },
                session=session,
            )

        @router.post("/console/parks/{park_id}/deliveries/{delivery_id}/replay")
        def replay(
            park_id: str,
            delivery_id: int,
            session: PageSession,
            csrf_token: Annotated[str, Form()] = "",
        ) -> RedirectResponse:
            self.check_csrf(session, csrf_token)
            row = self.park_delivery(session.user, park_id, delivery_id)
            url = f"/console/parks/{park_id}/deliveries/{delivery_id}"
            if row["status"] != "dead":
                return self.redirect(url + "?msg=not_dead")
            hub.replay(actor=f"web:{session.user.username}", ids=[delivery_id])
            return self.redirect(url + "?msg=replayed")

        @router.get("/console/parks/{park_id}/entry")
        def entry(
            request: Request, park_id: str, session: PageSession, period: str | None = None
        ) -> Response:
            park = self.park(session.user, park_id)
            return self._entry_page(request, session, park, _period_or_default(period), None)

        @router.get("/console/parks/{park_id}/entry/template")
        def entry_template(
            park_id: str, session: PageSession, period: str | None = None
        ) -> Response:
            park = self.park(session.user, park_id)
            chosen = _period_or_default(period)
            body = hub.entry_template(park_id, chosen)
            return Response(
                body,
                media_type=XLSX_CONTENT_TYPE,
                headers={
                    "Content-Disposition": _content_disposition(
                        template_filename(park, chosen, MONTHLY)
                    ),
                    "Cache-Control": "no-store",
                },
            )

        @router.post("/console/parks/{park_id}/entry/upload")
        def entry_upload(
            request: Request,
            park_id: str,
            session: PageSession,
            file: Annotated[UploadFile | None, File()] = None,
            period: Annotated[str, Form()] = "",
            csrf_token: Annotated[str, Form()] = "",
        ) -> Response:
            self.check_csrf(session, csrf_token)
            park = self.park(session.user, park_id)
            chosen = _period_or_default(period)
            if file is None or not file.filename:
                raise Denied(400, "请选择要上传的文件", "choose a file to upload")
            body = file.file.read(MAX_UPLOAD_BYTES + 1)
            if len(body) > MAX_UPLOAD_BYTES:
                raise Denied(413, "文件太大（上限 20 MB）", "file too large (limit 20 MB)")
            result, foreign = self._import(
                body, park_id, file.filename, f"web:{session.user.username}"
            )
            summary = refused_summary(foreign) if result is None else import_summary(result)
            return self._entry_page(
                request,
                session,
                park,
                chosen,
                {"filename": file.filename, **summary},
                status_code=422 if summary["errors"] else 200,
            )

        @router.get("/console/parks/{park_id}/entry/form")
        def entry_form(
            request: Request,
            park_id: str,
            session: PageSession,
            credit_code: str = "",
            period: str | None = None,
        ) -> Response:
            park = self.park(session.user, park_id)
            chosen = _period_or_default(period)
            doc = None
            name = ""
            if credit_code:
                record = hub.store.records.get(MONTHLY, f"{credit_code}|{chosen}")
                if record is not None and record["park_id"] == park_id:
                    doc = _parse_json_text(record["doc"])
                ent = hub.store.records.get("enterprise", credit_code)
                if ent is not None and ent["park_id"] == park_id:
                    name = _parse_json_text(ent["doc"]).get("name", "")
            return self._form_page(
                request, session, park, chosen, credit_code, name, form_values(doc), {}, []
            )

        @router.post("/console/parks/{park_id}/entry/form")
        async def entry_form_submit(request: Request, park_id: str) -> Response:
            form = await request.form()
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            return await run_in_threadpool(self._submit_form, request, park_id, fields)

        @router.get("/console/account")
        def account(request: Request, session: PageSession) -> Response:
            return self.render(request, "account.html", {"new_token": None}, session=session)

        @router.post("/console/account/token")
        def account_token(
            request: Request, session: PageSession, csrf_token: Annotated[str, Form()] = ""
        ) -> Response:
            self.check_csrf(session, csrf_token)
            token = self.accounts.create_api_token(
                session.user.username, actor=f"web:{session.user.username}"
            )
            fresh = self.accounts.get_session(session.token) or session
            return self.render(request, "account.html", {"new_token": token}, session=fresh)

        @router.post("/console/account/password")
        def account_password(
            request: Request,
            session: PageSession,
            current: Annotated[str, Form()] = "",
            new: Annotated[str, Form()] = "",
            confirm: Annotated[str, Form()] = "",
            csrf_token: Annotated[str, Form()] = "",
        ) -> Response:
            self.check_csrf(session, csrf_token)
            error = None
            if self.accounts.verify_password(session.user.username, current) is None:
                error = "当前密码不对 (current password is wrong)"
            elif new != confirm:
                error = "两次输入的新密码不一致 (the new passwords differ)"
            else:
                try:
                    check_password_strength(new)
                except AccountError as exc:
                    error = str(exc)
            if error is not None:
                return self.render(
                    request,
                    "account.html",
                    {"new_token": None, "password_error": error},
                    session=session,
                    status_code=422,
                )
            actor = f"web:{session.user.username}"
            self.accounts.set_password(session.user.username, new, actor=actor)
            fresh = self.accounts.create_session(session.user, ttl=self.ttl)
            response = self.redirect("/console/account?msg=password")
            self._set_session_cookie(response, fresh)
            return response

        return router

    def _login_form(
        self, request: Request, target: str, *, error: str | None, status_code: int
    ) -> Response:
        nonce = secrets.token_urlsafe(24)
        response = self.render(
            request,
            "login.html",
            {"login_csrf": nonce, "next": target, "error": error},
            status_code=status_code,
        )
        response.set_cookie(
            LOGIN_COOKIE,
            self._login_signer.dumps(nonce),
            max_age=3600,
            path="/console/login",
            httponly=True,
            samesite="lax",
            secure=self.secure_cookies,
        )
        return response

    @staticmethod
    def foreign_rows(exc: ForeignRecordsError) -> list[dict[str, Any]]:
        """The refused file's rows for the page: records stored for another park would be
        overwritten and moved to this park, so the file is refused whole."""
        out = []
        for err in exc.records:
            code, _, when = err.record.partition("#")[2].partition("|")
            out.append(
                {
                    "level": "error",
                    "sheet": "",
                    "row": None,
                    "column": "统一社会信用代码",
                    "cell": None,
                    "value": code,
                    "reason_zh": f"该企业{when + ' 期' if when else ''}的数据属于其他园区，"
                    "不能在本园区导入或修改；请核对统一社会信用代码，企业迁入请联系管理员",
                    "reason_en": "this enterprise's record belongs to another park and cannot "
                    "be changed here; check the credit code, or ask an administrator",
                }
            )
        return out

    def _import(
        self,
        body: bytes,
        park_id: str,
        filename: str,
        actor: str,
        *,
        stream: str | None = None,
        period: str | None = None,
    ) -> tuple[IngestResult | None, list[dict[str, Any]]]:
        """Import an uploaded file unless it touches another park's records."""
        try:
            result = self.hub.import_entry(
                body, park_id, filename=filename, actor=actor, stream=stream, period=period
            )
            return result, []
        except ForeignRecordsError as exc:
            return None, self.foreign_rows(exc)
        except ParkhubError as exc:
            raise Denied(400, "无法导入该文件", str(exc)) from None

    def _entry_page(
        self,
        request: Request,
        session: Session,
        park: ParkConfig,
        period: str,
        result: dict[str, Any] | None,
        *,
        status_code: int = 200,
    ) -> Response:
        hub = self.hub
        enterprises = hub.store.records.docs("enterprise", park_id=park.id)
        filled = {
            d["credit_code"]: d
            for d in hub.store.records.iter_docs(MONTHLY, park_id=park.id, key_suffix=f"|{period}")
        }
        rows = []
        for ent in enterprises:
            doc = filled.get(ent["credit_code"])
            rows.append(
                {
                    "credit_code": ent["credit_code"],
                    "name": ent.get("name", ""),
                    "status": ent.get("status", "active"),
                    "filled": doc is not None,
                    "values": form_values(doc),
                }
            )
        known = {ent["credit_code"] for ent in enterprises}
        for code, doc in sorted(filled.items()):
            if code not in known:
                rows.append(
                    {
                        "credit_code": code,
                        "name": "（名录外企业 not in the roster）",
                        "status": "active",
                        "filled": True,
                        "values": form_values(doc),
                    }
                )
        return self.render(
            request,
            "entry.html",
            {
                "park": park,
                "period": period,
                "periods": sorted({period, *recent_periods()}, reverse=True),
                "rows": rows,
                "columns": FORM_COLUMNS,
                "result": result,
                "filled_count": sum(1 for r in rows if r["filled"]),
            },
            session=session,
            status_code=status_code,
        )

    def _form_page(
        self,
        request: Request,
        session: Session,
        park: ParkConfig,
        period: str,
        credit_code: str,
        name: str,
        values: Mapping[str, str],
        field_errors: Mapping[str, list[str]],
        problems: Sequence[Mapping[str, Any]],
        *,
        status_code: int = 200,
    ) -> Response:
        return self.render(
            request,
            "entry_form.html",
            {
                "park": park,
                "period": period,
                "periods": sorted({period, *recent_periods()}, reverse=True),
                "credit_code": credit_code,
                "name": name,
                "values": values,
                "columns": FORM_COLUMNS,
                "field_errors": field_errors,
                "problems": problems,
            },
            session=session,
            status_code=status_code,
        )

    def _submit_form(self, request: Request, park_id: str, fields: Mapping[str, str]) -> Response:
        session = self.page_session(request)
        self.check_csrf(session, fields.get("csrf_token"))
        park = self.park(session.user, park_id)
        credit_code = fields.get("credit_code", "").strip()
        period_text = fields.get("period", "").strip()
        values = {c.field: fields.get(c.field, "").strip() for c in FORM_COLUMNS}
        user = session.user.username
        note = f"网页填报 {user} {utcnow().isoformat(timespec='microseconds')}"
        body = form_csv(credit_code, period_text, values, note)
        filename = f"网页填报_{credit_code or 'new'}.csv"
        result, foreign = self._import(
            body, park_id, filename, f"web:{user}", stream=MONTHLY, period=period_text or None
        )
        if result is None:
            return self._form_page(
                request,
                session,
                park,
                period_text or previous_period(utcnow()),
                credit_code,
                "",
                values,
                {"credit_code": [f"{p['reason_zh']} ({p['reason_en']})" for p in foreign]},
                [],
                status_code=422,
            )
        problems = format_report(result, include_warnings=True)
        saved = result.new + result.changed + result.unchanged
        if not result.errors and saved:
            if problems:  # saved, with warnings the operator should read (e.g. a check digit)
                summary = {"filename": "网页填报 (web form)", **import_summary(result)}
                return self._entry_page(request, session, park, period_text, summary)
            msg = "saved" if result.new or result.changed else "unchanged"
            target = urllib.parse.urlencode({"period": period_text, "msg": msg})
            return self.redirect(f"/console/parks/{park_id}/entry?{target}")
        by_header = {c.header: c.field for c in FORM_COLUMNS}
        by_header.update({"统一社会信用代码": "credit_code", "统计期间": "period"})
        field_errors: dict[str, list[str]] = {}
        general = []
        for p in problems:
            key = by_header.get(p["column"] or "")
            if key is not None and p["level"] == "error":
                field_errors.setdefault(key, []).append(f"{p['reason_zh']} ({p['reason_en']})")
            else:
                general.append(p)
        if not result.errors and not saved:
            general.append(
                {
                    "level": "error",
                    "reason_zh": "没有填写任何数据",
                    "reason_en": "no figures entered",
                    "value": "",
                }
            )
        name = ""
        ent = self.hub.store.records.get("enterprise", credit_code) if credit_code else None
        if ent is not None and ent["park_id"] == park_id:
            name = _parse_json_text(ent["doc"]).get("name", "")
        return self._form_page(
            request,
            session,
            park,
            period_text or previous_period(utcnow()),
            credit_code,
            name,
            values,
            field_errors,
            general,
            status_code=422,
        )

    # -- JSON API -----------------------------------------------------------------------------

    def _api(self) -> APIRouter:
        router = APIRouter(prefix="/api", tags=["api"])
        hub = self.hub

        @router.get("/me")
        def me(caller: Caller) -> dict[str, Any]:
            """The caller: user name, role and the parks they may see."""
            u = caller.user
            return {
                "username": u.username,
                "display_name": u.display_name,
                "role": u.role,
                "parks": [p.id for p in self.visible_parks(u)],
                "csrf_token": caller.session.csrf_token if caller.session else None,
            }

        @router.get("/status")
        def api_status(caller: Caller) -> dict[str, Any]:
            """Hub-wide status (administrators): per platform sent / pending / failed / dead."""
            if not caller.user.is_admin:
                raise Denied(
                    403,
                    "全局状态仅管理员可见，请用 /api/parks/{park}/dashboard",
                    "admin only: use /api/parks/{park}/dashboard",
                )
            return hub.status()

        @router.get("/parks")
        def api_parks(caller: Caller) -> list[dict[str, Any]]:
            """The parks the caller may see."""
            return [
                {"id": p.id, "name": p.name, "division_code": p.division_code}
                for p in self.visible_parks(caller.user)
            ]

        @router.get("/parks/{park_id}/dashboard")
        def api_dashboard(park_id: str, caller: Caller) -> dict[str, Any]:
            """What the park's dashboard shows: platforms, failures, calendar, inbox problems."""
            self.park(caller.user, park_id)
            result: dict[str, Any] = _jsonable(park_dashboard(hub, park_id))
            return result

        @router.get("/deliveries")
        def api_deliveries(
            caller: Caller,
            status: Annotated[list[str] | None, Query()] = None,
            platform: str | None = None,
            park: str | None = None,
            limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        ) -> list[dict[str, Any]]:
            """Deliveries of the caller's parks (newest first), by status and platform."""
            parks = [p.id for p in self.visible_parks(caller.user)]
            if park is not None:
                self.park(caller.user, park)
                parks = [park]
            rows = park_deliveries(hub, parks, status=status, platform=platform, limit=limit)
            return [_jsonable(r) for r in rows]

        @router.get("/parks/{park_id}/deliveries")
        def api_park_deliveries(
            park_id: str,
            caller: Caller,
            status: Annotated[list[str] | None, Query()] = None,
            platform: str | None = None,
            limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        ) -> list[dict[str, Any]]:
            self.park(caller.user, park_id)
            rows = park_deliveries(hub, [park_id], status=status, platform=platform, limit=limit)
            return [_jsonable(r) for r in rows]

        @router.get("/parks/{park_id}/deliveries/{delivery_id}")
        def api_delivery(park_id: str, delivery_id: int, caller: Caller) -> dict[str, Any]:
            """One delivery with the payload sent and the platform's receipt."""
            row = self.park_delivery(caller.user, park_id, delivery_id)
            result: dict[str, Any] = _jsonable(delivery_detail(row))
            return result

        def _replay(caller: Principal, row: Mapping[str, Any]) -> dict[str, int]:
            if row["status"] != "dead":
                raise Denied(
                    409,
                    "只有“已停止重试”的投递可以重新投递",
                    f"only dead deliveries can be replayed (this one is {row['status']})",
                )
            return {"queued": hub.replay(actor=caller.actor, ids=[int(row["id"])])}

        @router.post("/deliveries/{delivery_id}/replay")
        def api_replay(delivery_id: int, caller: Caller) -> dict[str, int]:
            """Queue a dead delivery again (same idempotency key); audited with the caller."""
            row = delivery_row(hub, delivery_id)
            if row is None or not caller.user.can_see(row["park_id"]):
                raise Denied(404, "没有这条投递记录", f"no delivery {delivery_id}")
            return _replay(caller, row)

        @router.post("/parks/{park_id}/deliveries/{delivery_id}/replay")
        def api_park_replay(park_id: str, delivery_id: int, caller: Caller) -> dict[str, int]:
            return _replay(caller, self.park_delivery(caller.user, park_id, delivery_id))

        @router.get(
            "/parks/{park_id}/entry/template",
            response_class=Response,
            responses={200: {"content": {XLSX_CONTENT_TYPE: {}}}},
        )
        def api_template(park_id: str, caller: Caller, period: str | None = None) -> Response:
            """The park's monthly entry workbook, prefilled with its enterprises."""
            park = self.park(caller.user, park_id)
            chosen = _period_or_default(period)
            return Response(
                hub.entry_template(park_id, chosen),
                media_type=XLSX_CONTENT_TYPE,
                headers={
                    "Content-Disposition": _content_disposition(
                        template_filename(park, chosen, MONTHLY)
                    )
                },
            )

        @router.post("/parks/{park_id}/entry")
        def api_entry(
            park_id: str,
            caller: Caller,
            file: Annotated[UploadFile, File(description=".xlsx or .csv")],
        ) -> Any:
            """Import a filled workbook or CSV: valid rows stored, problems listed per cell."""
            self.park(caller.user, park_id)
            body = file.file.read(MAX_UPLOAD_BYTES + 1)
            if len(body) > MAX_UPLOAD_BYTES:
                raise Denied(413, "文件太大（上限 20 MB）", "file too large (limit 20 MB)")
            result, foreign = self._import(
                body, park_id, file.filename or "upload.xlsx", caller.actor
            )
            if result is None:
                return JSONResponse(refused_summary(foreign), status_code=409)
            return import_summary(result)

        return router


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
    console = Console(
        hub, secret_key=secret_key, secure_cookies=secure_cookies, session_hours=session_hours
    )
    console.install(app)
    return console


def console_secret(environ: Mapping[str, str]) -> str:
    """PARKHUB_CONSOLE_SECRET, or a random key for this process (sessions end at restart)."""
    value = environ.get("PARKHUB_CONSOLE_SECRET")
    if value:
        return value
    log.warning("PARKHUB_CONSOLE_SECRET is not set: console sessions last until this process stops")
    return secrets.token_urlsafe(32)


# -- the demo ---------------------------------------------------------------------------------


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


def demo_console_app(hub: Hub) -> tuple[FastAPI, str, str]:
    """The web app with the console on `hub`, and a fresh demo account: (app, user, password)."""
    from parkhub.web.app import create_app

    username, password = demo_account(hub)
    app = create_app(hub)
    mount_console(app, hub, secret_key=secrets.token_urlsafe(32))
    return app, username, password


def serve_demo_console(
    hub: Hub,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    dispatch_every: float | None = 2.0,
    echo: Callable[[str], None] = print,
) -> None:
    """`parkhub demo --serve`: serve the console on the demo's hub until Ctrl-C.

    Prints the URL and the demo account. With `dispatch_every`, a background loop sends what the
    console queues (entries, replays) to the demo's platforms while they still run.
    """
    import uvicorn

    app, username, password = demo_console_app(hub)
    stop = threading.Event()

    def ticker() -> None:
        assert dispatch_every is not None
        while not stop.wait(dispatch_every):
            try:
                hub.dispatch()
            except Exception:
                log.exception("demo dispatch failed")

    thread = threading.Thread(target=ticker, daemon=True, name="demo-dispatch")
    if dispatch_every:
        thread.start()
    echo(f"控制台 Console: http://{host}:{port}/console/")
    echo(f"演示账号 Demo account: {username} / {password}   (this demo database only)")
    echo("Ctrl-C 退出 to stop")
    try:
        uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).run()
    finally:
        stop.set()
        if dispatch_every:
            thread.join(timeout=10)


__all__ = [
    "Console",
    "Denied",
    "console_secret",
    "demo_account",
    "demo_console_app",
    "form_csv",
    "mount_console",
    "park_dashboard",
    "serve_demo_console",
]
