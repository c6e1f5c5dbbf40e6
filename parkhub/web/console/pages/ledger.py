"""The reporting ledger (报送台账): what went to whom, when, with which receipt; filtered by
platform, report, period, enterprise and date, a page at a time, and exported as .xlsx for an
audit or the county's inspection."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from parkhub.canonical.timeutil import SHANGHAI, format_local, utcnow
from parkhub.config import HubConfig, ParkConfig
from parkhub.reports.enterprise_view import enterprise_names
from parkhub.reports.ledger import STATUS_TITLES, ledger_rows, ledger_xlsx
from parkhub.reports.names import platform_titles, report_titles
from parkhub.store import LedgerFilter
from parkhub.web.console.auth import Denied, PageSession
from parkhub.web.console.core import ConsoleDep
from parkhub.web.console.forms import period_or_default
from parkhub.web.console.render import STATUS_LABELS

router = APIRouter(include_in_schema=False)
PAGE = 50
FILTERS = ("platform", "report", "period", "enterprise", "since", "until", "status")


def _day(value: str | None, *, end: bool = False) -> dt.datetime | None:
    """A YYYY-MM-DD date (Beijing) as the start of that day, or of the next with `end`."""
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise Denied(400, "日期格式应为 YYYY-MM-DD", "dates are YYYY-MM-DD") from None
    start = dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI)
    return start + dt.timedelta(days=1) if end else start


def ledger_filter(park: ParkConfig, q: dict[str, str]) -> LedgerFilter:
    status = q.get("status") or "sent"
    if status != "all" and status not in STATUS_TITLES:
        raise Denied(400, "没有这个状态", f"unknown status {status!r}")
    return LedgerFilter(
        park_ids=[park.id],
        platform=q.get("platform") or None,
        report=q.get("report") or None,
        period=period_or_default(q["period"]) if q.get("period") else None,
        enterprise=q.get("enterprise") or None,
        since=_day(q.get("since")),
        until=_day(q.get("until"), end=True),
        statuses=None if status == "all" else (status,),
    )


def report_choices(config: HubConfig) -> list[tuple[str, str]]:
    """(report, its titles): one entry per report name, naming every platform's title of it."""
    titles: dict[str, list[str]] = {}
    for (_, report), title in report_titles(config).items():
        if title not in titles.setdefault(report, []):
            titles[report].append(title)
    return sorted((r, " / ".join(t)) for r, t in titles.items())


def _query(request: Request) -> dict[str, str]:
    return {k: request.query_params.get(k, "").strip() for k in FILTERS}


@router.get("/console/parks/{park_id}/ledger")
def ledger(
    console: ConsoleDep,
    request: Request,
    park_id: str,
    session: PageSession,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    park = console.park(session.user, park_id)
    q = _query(request)
    store, config = console.hub.store, console.hub.config
    rows, total = store.ledger.page(ledger_filter(park, q), offset=(page - 1) * PAGE, limit=PAGE)
    choices = store.ledger.choices([park_id])
    context: dict[str, Any] = {
        "park": park,
        "q": {**q, "status": q["status"] or "sent"},
        "rows": ledger_rows(rows, config, store),
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE)),
        "platforms": [(p, platform_titles(config).get(p, p)) for p in choices["platforms"]],
        "reports": report_choices(config),
        "enterprises": sorted(enterprise_names(store, [park_id]).items(), key=lambda i: i[1]),
        "statuses": STATUS_LABELS,
        "export": "?" + urllib.parse.urlencode({k: v for k, v in q.items() if v}),
        "pager": urllib.parse.urlencode({k: v for k, v in q.items() if v}),
    }
    return console.render(request, "ledger.html", context, session=session)


@router.get("/console/parks/{park_id}/ledger.xlsx")
def ledger_export(
    console: ConsoleDep, request: Request, park_id: str, session: PageSession
) -> Response:
    park = console.park(session.user, park_id)
    store, config = console.hub.store, console.hub.config
    rows = ledger_rows(store.ledger.rows(ledger_filter(park, _query(request))), config, store)
    stamp = format_local(utcnow(), "%Y-%m-%d %H:%M")
    body = ledger_xlsx(rows, title=f"{park.name} 报送台账（导出于 {stamp} 北京时间）")
    name = urllib.parse.quote(f"{park.name}_报送台账_{format_local(utcnow(), '%Y%m%d')}.xlsx")
    return Response(
        body,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": f"attachment; filename=\"ledger.xlsx\"; filename*=UTF-8''{name}",
            "Cache-Control": "no-store",
        },
    )
