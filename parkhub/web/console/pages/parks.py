"""The parks overview (a user with one park goes straight to it) and a park's dashboard."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from parkhub.web.console.auth import PageSession
from parkhub.web.console.core import ConsoleDep
from parkhub.web.console.views import park_dashboard, park_summaries

router = APIRouter(include_in_schema=False)


@router.get("/console/")
def home(console: ConsoleDep, request: Request, session: PageSession) -> Response:
    parks = console.visible_parks(session.user)
    if len(parks) == 1:
        return console.redirect(f"/console/parks/{parks[0].id}")
    summaries = park_summaries(console.hub, parks)
    return console.render(request, "parks.html", {"summaries": summaries}, session=session)


@router.get("/console/parks/{park_id}")
def dashboard(
    console: ConsoleDep, request: Request, park_id: str, session: PageSession
) -> Response:
    park = console.park(session.user, park_id)
    data = park_dashboard(console.hub, park_id)
    return console.render(request, "dashboard.html", {"park": park, "d": data}, session=session)
