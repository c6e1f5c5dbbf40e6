"""The park's enterprises by name, and one page per enterprise: its figures by month, where
each came from (source, revision, file) and where it went (platform, time, receipt)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from parkhub.reports.enterprise_view import enterprise_list, enterprise_view
from parkhub.web.console.auth import Denied, PageSession
from parkhub.web.console.core import ConsoleDep

router = APIRouter(include_in_schema=False)


@router.get("/console/parks/{park_id}/enterprises")
def listing(console: ConsoleDep, request: Request, park_id: str, session: PageSession) -> Response:
    park = console.park(session.user, park_id)
    rows = enterprise_list(console.hub.store, park_id)
    return console.render(
        request, "enterprises.html", {"park": park, "rows": rows}, session=session
    )


@router.get("/console/parks/{park_id}/enterprises/{credit_code}")
def enterprise(
    console: ConsoleDep, request: Request, park_id: str, credit_code: str, session: PageSession
) -> Response:
    park = console.park(session.user, park_id)
    view = enterprise_view(console.hub.store, console.hub.config, park_id, credit_code)
    if view is None:
        raise Denied(404, "本园区没有这家企业", f"no enterprise {credit_code} in this park")
    return console.render(request, "enterprise.html", {"park": park, "e": view}, session=session)
