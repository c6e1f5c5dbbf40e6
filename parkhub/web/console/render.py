"""How pages look: the Jinja2 environment with its filters (Beijing time, pretty JSON, status
labels in Chinese), the notices after a redirect, and the security headers of every page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.templating import Jinja2Templates

from parkhub.canonical.timeutil import SHANGHAI
from parkhub.reports.calendar import CalendarState as C
from parkhub.store import DeliveryStatus as D
from parkhub.store import RawStatus as R

STATUS_LABELS = {
    D.SENT: "已送达",
    D.PENDING: "待发送",
    D.IN_FLIGHT: "发送中",
    D.FAILED: "失败待重试",
    D.DEAD: "已停止重试",
    D.SUPERSEDED: "已被新版本取代",
}
STATE_LABELS = {
    C.DELIVERED: "已报送",
    C.DELIVERED_INCOMPLETE: "已报送（缺企业数据）",
    C.PENDING: "待报送",
    C.NOT_BUILT: "尚无可报数据",
    C.AT_RISK: "临近截止",
    C.LATE: "已逾期",
    C.FAILED: "报送失败",
}
INBOX_LABELS = {R.REJECTED: "被拒收", R.PARTIAL: "部分行有错", R.RECEIVED: "待解析"}
NOTICES = {
    "saved": "已保存：数据已入库，并已排队报送。 (Saved and queued for delivery.)",
    "unchanged": "数据与已保存的一致，无需修改。 (Nothing changed.)",
    "replayed": "已重新排队投递。 (Queued again for delivery.)",
    "not_dead": "只有“已停止重试”的投递可以重新投递。 (Only dead deliveries can be replayed.)",
    "password": "密码已修改，其他登录已退出。 (Password changed; other sessions signed out.)",
    "built": "园区月报已生成并排队报送。 (The park report was built and queued.)",
    "held": "园区还没有入园企业，园区月报暂不报送。 (No enterprises yet: the report is held.)",
    "dismissed": "已忽略该问题。 (The problem was dismissed.)",
    "retried": "失败的投递已安排立即重试。 (Failed deliveries are due now.)",
    "replayed_many": "已重新排队 {n} 条投递。 ({n} deliveries queued again.)",
    "reviewed": "审核已记录。 (The decision is recorded and audited.)",
}
"""What a page says after a redirect with `?msg=<key>`."""
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; img-src 'self' data:; style-src 'self'; "
        "form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def beijing_time(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time (UTC, aware or naive, or ISO text) as Beijing time."""
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


def bj_value(value: Any) -> Any:
    """A payload or receipt value for a labelled table: an ISO time with a zone as Beijing
    time, anything else as it is."""
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
        try:
            when = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        if when.tzinfo is not None:
            return when.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dict | list):
        return pretty(value)
    return value


def number(value: Any, digits: int = 2) -> str:
    """A figure for a table: thousands separated, `digits` decimals, blank when missing."""
    if value is None or value == "":
        return ""
    if isinstance(value, int):
        return f"{value:,}"
    return f"{float(value):,.{digits}f}"


def pretty(value: Any) -> str:
    """A payload or receipt as indented JSON (text as it is)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()


def templates() -> Jinja2Templates:
    """The console's templates (parkhub/web/templates) with its filters."""
    env = Environment(
        loader=PackageLoader("parkhub.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["bj"] = beijing_time
    env.filters["pretty"] = pretty
    env.filters["bjv"] = bj_value
    env.filters["num"] = number
    env.filters["status_label"] = lambda s: STATUS_LABELS.get(s, s)
    env.filters["state_label"] = lambda s: STATE_LABELS.get(s, s)
    env.filters["inbox_label"] = lambda s: INBOX_LABELS.get(s, s)
    return Jinja2Templates(env=env)
