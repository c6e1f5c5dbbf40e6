"""The parks overview (a user with one park goes straight to it), a park's dashboard, and the
dismissal of an inbox problem dealt with (audited as `web:<user>`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from parkhub.reports.enterprise_view import enterprise_names
from parkhub.store import RawStatus
from parkhub.web.console.auth import Denied, PageSession, check_csrf
from parkhub.web.console.core import ConsoleDep
from parkhub.web.console.views import park_dashboard, park_sources, park_summaries

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
    names = enterprise_names(console.hub.store, [park_id])
    context = {"park": park, "d": data, "names": names}
    return console.render(request, "dashboard.html", context, session=session)


@router.post("/console/parks/{park_id}/inbox/{raw_id}/dismiss")
def dismiss(
    console: ConsoleDep,
    park_id: str,
    raw_id: int,
    session: PageSession,
    csrf_token: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Dismiss one of the park's inbox problems: it leaves the lists; the message stays."""
    check_csrf(session, csrf_token)
    console.park(session.user, park_id)
    hub = console.hub
    rows = hub.store.inbox.messages(ids=[raw_id], with_body=False, limit=1)
    if not rows or rows[0]["source"] not in park_sources(hub, park_id):
        raise Denied(404, "本园区没有这条接收记录", f"no inbox message {raw_id} in this park")
    hub.store.inbox.close_problems(
        [raw_id], RawStatus.DISMISSED, actor=f"web:{session.user.username}"
    )
    return console.redirect(f"/console/parks/{park_id}?msg=dismissed")
