"""The park monthly report (园区月报): this period's figures built now (a preview: nothing is
sent until the operator builds it), what each platform would get, twelve months of trends
(ECharts, served from the package), the enterprises behind the figures; and the build."""

from __future__ import annotations

import urllib.parse
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from parkhub.canonical import jsonutil
from parkhub.reports.monthly_view import monthly_view
from parkhub.web.console.auth import PageSession, check_csrf
from parkhub.web.console.core import ConsoleDep
from parkhub.web.console.forms import period_choices, period_or_default

router = APIRouter(include_in_schema=False)


@router.get("/console/parks/{park_id}/report")
def report(
    console: ConsoleDep,
    request: Request,
    park_id: str,
    session: PageSession,
    period: str | None = None,
) -> Response:
    park = console.park(session.user, park_id)
    chosen = period_or_default(period)
    view = monthly_view(console.hub.store, console.hub.config, park, chosen)
    context = {
        "park": park,
        "period": chosen,
        "periods": period_choices(chosen),
        "v": view,
        # read by static/charts.js from a non-executable script element (CSP: no inline code)
        "trend_json": jsonutil.dumps_str(view["trends"]).replace("<", "\\u003c"),
    }
    return console.render(request, "report.html", context, session=session)


@router.post("/console/parks/{park_id}/report/build")
def build(
    console: ConsoleDep,
    park_id: str,
    session: PageSession,
    period: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Build the period's report from the figures just reviewed and queue it (audited)."""
    check_csrf(session, csrf_token)
    console.park(session.user, park_id)
    chosen = period_or_default(period)
    [(inputs, result)] = console.hub.build_reports(chosen, park=park_id)
    console.audit(
        f"web:{session.user.username}",
        "report_build",
        {"park": park_id, "period": chosen, "held": inputs.held is not None,
         "deliveries": result.deliveries if result else 0},
    )  # fmt: skip
    msg = "held" if result is None else "built"
    query = urllib.parse.urlencode({"period": chosen, "msg": msg})
    return console.redirect(f"/console/parks/{park_id}/report?{query}")
