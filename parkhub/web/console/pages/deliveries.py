"""A park's deliveries: the listing by platform and status, one delivery with its payload,
receipt and record, and the replay of a dead one (audited as `web:<user>`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from parkhub.store import DeliveryStatus
from parkhub.web.console.auth import PageSession, check_csrf
from parkhub.web.console.core import ConsoleDep
from parkhub.web.console.render import STATUS_LABELS
from parkhub.web.console.views import deliveries, delivery_detail, parse_json_text, platform_choices

router = APIRouter(include_in_schema=False)


@router.get("/console/parks/{park_id}/deliveries")
def listing(
    console: ConsoleDep,
    request: Request,
    park_id: str,
    session: PageSession,
    platform: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    park = console.park(session.user, park_id)
    hub = console.hub
    rows = deliveries(
        hub, [park_id], status=[status] if status else None, platform=platform, limit=limit
    )
    context = {
        "park": park,
        "rows": rows,
        "platform": platform or "",
        "status": status or "",
        "platforms": platform_choices(hub, park_id),
        "statuses": STATUS_LABELS,
        "limit": limit,
    }
    return console.render(request, "deliveries.html", context, session=session)


@router.get("/console/parks/{park_id}/deliveries/{delivery_id}")
def delivery(
    console: ConsoleDep, request: Request, park_id: str, delivery_id: int, session: PageSession
) -> Response:
    park = console.park(session.user, park_id)
    row = console.park_delivery(session.user, park_id, delivery_id)
    record = console.hub.store.records.get(row["record_kind"], row["record_key"])
    context = {
        "park": park,
        "d": delivery_detail(row),
        "record": parse_json_text(record["doc"]) if record else None,
    }
    return console.render(request, "delivery.html", context, session=session)


@router.post("/console/parks/{park_id}/deliveries/{delivery_id}/replay")
def replay(
    console: ConsoleDep,
    park_id: str,
    delivery_id: int,
    session: PageSession,
    csrf_token: Annotated[str, Form()] = "",
) -> RedirectResponse:
    check_csrf(session, csrf_token)
    row = console.park_delivery(session.user, park_id, delivery_id)
    url = f"/console/parks/{park_id}/deliveries/{delivery_id}"
    if row["status"] != DeliveryStatus.DEAD:
        return console.redirect(url + "?msg=not_dead")
    console.hub.replay(actor=f"web:{session.user.username}", ids=[delivery_id])
    return console.redirect(url + "?msg=replayed")
