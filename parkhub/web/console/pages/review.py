"""Data review (数据审核): the records the quality rules held back in a park, what the rules
found, the sources that disagree, and a reviewer's approve / correct / reject (audited as
`web:<user>`). Everyone who sees the park sees the page; reviewers of the park and
administrators decide."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from parkhub.canonical import RECORD_TYPES
from parkhub.errors import ParkhubError
from parkhub.ingest.entry import FIELD_COLUMNS
from parkhub.store import HoldStatus, Session, hold_doc
from parkhub.web.console.auth import Denied, PageSession, check_csrf, page_session
from parkhub.web.console.core import Console, ConsoleDep, console_of

router = APIRouter(include_in_schema=False)
DECISIONS = ("approve", "correct", "reject")
SEVERITY_LABELS = {"hold": "待审核", "warn": "需核实", "info": "提示"}
HOLD_LABELS = {
    HoldStatus.WAITING: "待审核",
    HoldStatus.APPROVED: "已批准",
    HoldStatus.CORRECTED: "已更正",
    HoldStatus.REJECTED: "已驳回",
    HoldStatus.SUPERSEDED: "已被新数据取代",
}


def _fields(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The held record's quantities as the entry templates show them (万元, 万千瓦时), with
    the value stored now for comparison."""
    doc = hold_doc(row)
    cls = RECORD_TYPES[row["kind"]]
    out = []
    for name in cls.model_fields:
        col = FIELD_COLUMNS.get(name)
        if col is None:
            continue
        value = doc.get(name)
        out.append(
            {
                "field": name,
                "header": col.header,
                "value": "" if value is None else _number(col.in_template_unit(value)),
            }
        )
    return out


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6f}".rstrip("0")


def review_page(
    console: Console,
    request: Request,
    session: Session,
    park_id: str,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    park = console.park(session.user, park_id)
    store = console.hub.store
    waiting = store.reviews.holds(park_ids=[park_id])
    for row in waiting:
        row["fields"] = _fields(row)
        stored = store.records.get(row["kind"], row["key"])
        row["stored"] = hold_doc(stored) if stored else None
    decided = store.reviews.holds(
        park_ids=[park_id],
        statuses=[s for s in HoldStatus if s != HoldStatus.WAITING],
        limit=50,
    )
    context = {
        "park": park,
        "waiting": waiting,
        "decided": list(reversed(decided)),
        "findings": store.reviews.findings(park_ids=[park_id], limit=100),
        "conflicts": store.provenance.conflicts(park_ids=[park_id], limit=100),
        "can_review": session.user.can_review(park_id),
        "severity_labels": SEVERITY_LABELS,
        "hold_labels": HOLD_LABELS,
        "error": error,
    }
    return console.render(request, "review.html", context, session=session, status_code=status_code)


@router.get("/console/parks/{park_id}/review")
def review(console: ConsoleDep, request: Request, park_id: str, session: PageSession) -> Response:
    return review_page(console, request, session, park_id)


@router.post("/console/parks/{park_id}/review/{hold_id}/{decision}")
async def decide(request: Request, park_id: str, hold_id: int, decision: str) -> Response:
    # a correction's fields follow the record's kind, so the form is read whole
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    return await run_in_threadpool(
        _decide, console_of(request), request, park_id, hold_id, decision, fields
    )


def _decide(
    console: Console,
    request: Request,
    park_id: str,
    hold_id: int,
    decision: str,
    fields: Mapping[str, str],
) -> Response:
    session = page_session(request)
    check_csrf(session, fields.get("csrf_token"))
    console.park(session.user, park_id)
    if not session.user.can_review(park_id):
        raise Denied(403, "只有本园区的审核员或管理员可以审核", "only a reviewer may decide")
    row = console.hub.store.reviews.hold(hold_id)
    if row is None or row["park_id"] != park_id or decision not in DECISIONS:
        raise Denied(404, "没有这条待审核记录", f"no held record {hold_id} in this park")
    actor = f"web:{session.user.username}"
    note = fields.get("note", "").strip() or None
    try:
        if decision == "approve":
            console.hub.review.approve(hold_id, actor=actor, note=note)
        elif decision == "reject":
            console.hub.review.reject(hold_id, actor=actor, note=note)
        else:
            values = _corrections(row, fields)
            console.hub.review.correct(hold_id, values, actor=actor, note=note)
    except (ParkhubError, ValueError) as exc:
        return review_page(console, request, session, park_id, str(exc), status_code=422)
    return console.redirect(f"/console/parks/{park_id}/review?msg=reviewed")


def _corrections(row: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, Any]:
    """The values a reviewer changed, from the template's units to the canonical ones."""
    shown = {f["field"]: f["value"] for f in _fields(row)}
    out: dict[str, Any] = {}
    for name, before in shown.items():
        text = fields.get(f"v_{name}", before).strip().replace(",", "")
        if text == before:
            continue
        col = FIELD_COLUMNS[name]
        if text == "":
            out[name] = None
            continue
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{col.header}: 应为数字 (must be a number, got {text!r})") from None
        if not math.isfinite(number):
            raise ValueError(f"{col.header}: 应为有限的数字 (must be a finite number)")
        value = number * col.factor
        out[name] = round(value) if col.kind == "count" else round(value, 4)
    if not out:
        raise ValueError("没有修改任何值；若数据无误请直接批准 (nothing changed: approve instead)")
    return out
