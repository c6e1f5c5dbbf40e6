"""The JSON API under /api: what the pages show, to a session cookie (with the X-CSRF-Token header
on POST) or a bearer token; every park checked, replays and imports audited as the caller."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import JSONResponse, Response

from parkhub.ingest.entry import XLSX_CONTENT_TYPE
from parkhub.store import DeliveryStatus

from .auth import Caller, Denied, Principal
from .core import Console, ConsoleDep
from .forms import import_file, period_or_default, read_upload, template_response
from .views import deliveries, delivery_detail, jsonable, park_dashboard

router = APIRouter(prefix="/api", tags=["api"])
# The function names make the OpenAPI operation ids: kept as clients know them.
Limit = Annotated[int, Query(ge=1, le=1000)]
Statuses = Annotated[list[str] | None, Query()]


@router.get("/me")
def me(console: ConsoleDep, caller: Caller) -> dict[str, Any]:
    """The caller: user name, role and the parks they may see."""
    u = caller.user
    return {
        "username": u.username,
        "display_name": u.display_name,
        "role": u.role,
        "parks": [p.id for p in console.visible_parks(u)],
        "csrf_token": caller.session.csrf_token if caller.session else None,
    }


@router.get("/status")
def api_status(console: ConsoleDep, caller: Caller) -> dict[str, Any]:
    """Hub-wide status (administrators): per platform sent / pending / failed / dead."""
    if not caller.user.is_admin:
        raise Denied(
            403,
            "全局状态仅管理员可见，请用 /api/parks/{park}/dashboard",
            "admin only: use /api/parks/{park}/dashboard",
        )
    return console.hub.status()


@router.get("/parks")
def api_parks(console: ConsoleDep, caller: Caller) -> list[dict[str, Any]]:
    """The parks the caller may see."""
    return [
        {"id": p.id, "name": p.name, "division_code": p.division_code}
        for p in console.visible_parks(caller.user)
    ]


@router.get("/parks/{park_id}/dashboard")
def api_dashboard(console: ConsoleDep, park_id: str, caller: Caller) -> dict[str, Any]:
    """What the park's dashboard shows: platforms, failures, calendar, inbox problems."""
    console.park(caller.user, park_id)
    result: dict[str, Any] = jsonable(park_dashboard(console.hub, park_id))
    return result


@router.get("/deliveries")
def api_deliveries(
    console: ConsoleDep,
    caller: Caller,
    status: Statuses = None,
    platform: str | None = None,
    park: str | None = None,
    limit: Limit = 100,
) -> list[dict[str, Any]]:
    """Deliveries of the caller's parks (newest first), by status and platform."""
    park_ids = [p.id for p in console.visible_parks(caller.user)]
    if park is not None:
        console.park(caller.user, park)
        park_ids = [park]
    rows = deliveries(console.hub, park_ids, status=status, platform=platform, limit=limit)
    return [jsonable(r) for r in rows]


@router.get("/parks/{park_id}/deliveries")
def api_park_deliveries(
    console: ConsoleDep,
    park_id: str,
    caller: Caller,
    status: Statuses = None,
    platform: str | None = None,
    limit: Limit = 100,
) -> list[dict[str, Any]]:
    console.park(caller.user, park_id)
    rows = deliveries(console.hub, [park_id], status=status, platform=platform, limit=limit)
    return [jsonable(r) for r in rows]


@router.get("/parks/{park_id}/deliveries/{delivery_id}")
def api_delivery(
    console: ConsoleDep, park_id: str, delivery_id: int, caller: Caller
) -> dict[str, Any]:
    """One delivery with the payload sent, the platform's receipt and every try (`attempts`:
    time, outcome, HTTP status, error or receipt id; replays with their actor)."""
    row = console.park_delivery(caller.user, park_id, delivery_id)
    result: dict[str, Any] = jsonable(delivery_detail(row))
    result["tries"] = jsonable(console.hub.store.outbox.attempts(delivery_id))
    return result


def _replay(console: Console, caller: Principal, row: Mapping[str, Any]) -> dict[str, int]:
    if row["status"] != DeliveryStatus.DEAD:
        raise Denied(
            409,
            "只有“已停止重试”的投递可以重新投递",
            f"only dead deliveries can be replayed (this one is {row['status']})",
        )
    return {"queued": console.hub.replay(actor=caller.actor, ids=[int(row["id"])])}


@router.post("/deliveries/{delivery_id}/replay")
def api_replay(console: ConsoleDep, delivery_id: int, caller: Caller) -> dict[str, int]:
    """Queue a dead delivery again (same idempotency key); audited with the caller."""
    row = console.delivery(delivery_id)
    if row is None or not caller.user.can_see(row["park_id"]):
        raise Denied(404, "没有这条投递记录", f"no delivery {delivery_id}")
    return _replay(console, caller, row)


@router.post("/parks/{park_id}/deliveries/{delivery_id}/replay")
def api_park_replay(
    console: ConsoleDep, park_id: str, delivery_id: int, caller: Caller
) -> dict[str, int]:
    return _replay(console, caller, console.park_delivery(caller.user, park_id, delivery_id))


@router.get(
    "/parks/{park_id}/entry/template",
    response_class=Response,
    responses={200: {"content": {XLSX_CONTENT_TYPE: {}}}},
)
def api_template(
    console: ConsoleDep, park_id: str, caller: Caller, period: str | None = None
) -> Response:
    """The park's monthly entry workbook, prefilled with its enterprises."""
    park = console.park(caller.user, park_id)
    return template_response(console.hub, park, period_or_default(period))


@router.post("/parks/{park_id}/entry")
def api_entry(
    console: ConsoleDep,
    park_id: str,
    caller: Caller,
    file: Annotated[UploadFile, File(description=".xlsx or .csv")],
) -> Any:
    """Import a filled workbook or CSV: valid rows stored, problems listed per cell."""
    console.park(caller.user, park_id)
    body = read_upload(file)
    imported = import_file(console.hub, body, park_id, file.filename or "upload.xlsx", caller.actor)
    if imported.result is None:
        return JSONResponse(imported.summary(), status_code=409)
    return imported.summary()
