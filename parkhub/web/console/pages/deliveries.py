"""A park's deliveries: the listing by platform and status, one delivery with its payload and
receipt as labelled tables (raw JSON a click away) and every try, the replay of a dead one, and
the replay of a filtered set after a confirmation naming how many (audited as `web:<user>`)."""

from __future__ import annotations

import urllib.parse
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from parkhub.reports.enterprise_view import enterprise_names
from parkhub.reports.names import field_labels
from parkhub.store import DeliveryFilter, DeliveryStatus
from parkhub.web.console.auth import PageSession, check_csrf
from parkhub.web.console.core import ConsoleDep
from parkhub.web.console.render import STATUS_LABELS
from parkhub.web.console.views import (
    deliveries,
    delivery_detail,
    labelled,
    parse_json_text,
    platform_choices,
    receipt_rows,
)

router = APIRouter(include_in_schema=False)


@router.get("/console/parks/{park_id}/deliveries")
def listing(
    console: ConsoleDep,
    request: Request,
    park_id: str,
    session: PageSession,
    platform: str | None = None,
    status: str | None = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    park = console.park(session.user, park_id)
    hub = console.hub
    rows = deliveries(
        hub, [park_id], status=[status] if status else None, platform=platform, error=error,
        limit=limit,
    )  # fmt: skip
    dead = hub.store.outbox.count(_bulk_filter(park_id, platform, error))
    context = {
        "park": park,
        "rows": rows,
        "platform": platform or "",
        "status": status or "",
        "error": error or "",
        "platforms": platform_choices(hub, park_id),
        "statuses": STATUS_LABELS,
        "limit": limit,
        "dead_count": dead,
        "names": enterprise_names(hub.store, [park_id]),
    }
    return console.render(request, "deliveries.html", context, session=session)


@router.get("/console/parks/{park_id}/deliveries/{delivery_id}")
def delivery(
    console: ConsoleDep, request: Request, park_id: str, delivery_id: int, session: PageSession
) -> Response:
    park = console.park(session.user, park_id)
    row = console.park_delivery(session.user, park_id, delivery_id)
    hub = console.hub
    record = hub.store.records.get(row["record_kind"], row["record_key"])
    d = delivery_detail(row)
    labels = field_labels(hub.config, row["platform"], row["report"])
    context: dict[str, Any] = {
        "park": park,
        "d": d,
        "payload_rows": labelled(d["payload"], labels),
        "receipt_rows": receipt_rows(d["receipt"]),
        "attempts": hub.store.outbox.attempts(delivery_id),
        "names": enterprise_names(hub.store, [park_id]),
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


def _bulk_filter(park_id: str, platform: str | None, error: str | None) -> DeliveryFilter:
    """The dead deliveries of the park a bulk replay takes: the listing's filter."""
    return DeliveryFilter(
        status=[DeliveryStatus.DEAD],
        park_ids=[park_id],
        platform=platform or None,
        error_contains=error or None,
    )


@router.post("/console/parks/{park_id}/deliveries/replay")
def bulk_replay(
    console: ConsoleDep,
    request: Request,
    park_id: str,
    session: PageSession,
    platform: Annotated[str, Form()] = "",
    error: Annotated[str, Form(max_length=200)] = "",
    confirm: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Replay the dead deliveries of the park the listing shows (of one platform, whose error
    contains a text): first a page naming how many, then, confirmed with that count, the
    replay. A count that changed in between asks again."""
    check_csrf(session, csrf_token)
    park = console.park(session.user, park_id)
    where = _bulk_filter(park_id, platform, error)
    count = console.hub.store.outbox.count(where)
    if not confirm or confirm != str(count) or count == 0:
        context = {"park": park, "platform": platform, "error": error, "count": count,
                   "changed": bool(confirm)}  # fmt: skip
        return console.render(request, "replay_confirm.html", context, session=session)
    n = console.hub.replay(actor=f"web:{session.user.username}", where=where)
    query = urllib.parse.urlencode({"msg": "replayed_many", "n": n, "status": "pending"})
    return console.redirect(f"/console/parks/{park_id}/deliveries?{query}")
