"""Monthly entry (月度填报): the period's listing, the template, an upload with its problems, and
the form of one enterprise (saved through the same import as a workbook)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from parkhub.canonical.timeutil import previous_period, utcnow
from parkhub.config import ParkConfig, subscriptions
from parkhub.hub import Hub
from parkhub.ingest.entry import FORM_COLUMNS, MONTHLY
from parkhub.reports.enterprise_view import rejected_values
from parkhub.reports.names import platform_title, report_title
from parkhub.store import Session
from parkhub.web.console.auth import Denied, PageSession, check_csrf, page_session
from parkhub.web.console.core import Console, ConsoleDep, console_of
from parkhub.web.console.forms import (
    Imported,
    form_problems,
    form_values,
    import_file,
    import_form,
    import_new_enterprise,
    period_choices,
    period_or_default,
    read_upload,
    review_rows,
    saved_rows,
    submitted,
    template_response,
)
from parkhub.web.console.views import enterprise_name, entry_rows, park_doc

router = APIRouter(include_in_schema=False)
WEB_FORM = "网页填报 (web form)"


def entry_page(
    console: Console,
    request: Request,
    session: Session,
    park: ParkConfig,
    period: str,
    result: dict[str, Any] | None,
    *,
    status_code: int = 200,
) -> Response:
    """The period's listing of the park's enterprises, with what an import just did."""
    rows = entry_rows(console.hub, park.id, period)
    context = {
        "park": park,
        "period": period,
        "periods": period_choices(period),
        "rows": rows,
        "columns": FORM_COLUMNS,
        "result": result,
        "filled_count": sum(1 for r in rows if r["filled"]),
    }
    return console.render(request, "entry.html", context, session=session, status_code=status_code)


def form_page(
    console: Console,
    request: Request,
    session: Session,
    park: ParkConfig,
    period: str,
    form: tuple[str, str, Mapping[str, str]],
    field_errors: Mapping[str, list[str]] | None = None,
    problems: Sequence[Mapping[str, Any]] = (),
) -> Response:
    """One enterprise's form: (credit code, name, values); with `field_errors`, a submission
    that was not saved (422), each error beside its field and the other problems above. The
    credit code of an enterprise on the roster is fixed; a new one gets a 企业名称 field; what
    a vendor sent for it and was refused (e.g. "约300") is shown above the fields."""
    credit_code, name, values = form
    hub = console.hub
    known = bool(credit_code) and bool(enterprise_name(hub, park.id, credit_code))
    rejected = (
        rejected_values(hub.store, hub.config, park.id, credit_code, period=period)
        if credit_code
        else []
    )
    context = {
        "known": known,
        "rejected": rejected,
        "park": park,
        "period": period,
        "periods": period_choices(period),
        "credit_code": credit_code,
        "name": name,
        "values": values,
        "columns": FORM_COLUMNS,
        "field_errors": field_errors or {},
        "problems": problems,
    }
    status_code = 422 if field_errors is not None else 200
    return console.render(
        request, "entry_form.html", context, session=session, status_code=status_code
    )


@router.get("/console/parks/{park_id}/entry")
def entry(
    console: ConsoleDep,
    request: Request,
    park_id: str,
    session: PageSession,
    period: str | None = None,
) -> Response:
    park = console.park(session.user, park_id)
    return entry_page(console, request, session, park, period_or_default(period), None)


@router.get("/console/parks/{park_id}/entry/template")
def entry_template(
    console: ConsoleDep, park_id: str, session: PageSession, period: str | None = None
) -> Response:
    park = console.park(session.user, park_id)
    return template_response(
        console.hub, park, period_or_default(period), headers={"Cache-Control": "no-store"}
    )


@router.post("/console/parks/{park_id}/entry/upload")
def entry_upload(
    console: ConsoleDep,
    request: Request,
    park_id: str,
    session: PageSession,
    file: Annotated[UploadFile | None, File()] = None,
    period: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(session, csrf_token)
    park = console.park(session.user, park_id)
    chosen = period_or_default(period)
    if file is None or not file.filename:
        raise Denied(400, "请选择要上传的文件", "choose a file to upload")
    body = read_upload(file)
    actor = f"web:{session.user.username}"
    summary = import_file(console.hub, body, park_id, file.filename, actor).summary()
    return entry_page(
        console,
        request,
        session,
        park,
        chosen,
        {"filename": file.filename, **summary},
        status_code=422 if summary["errors"] else 200,
    )


@router.get("/console/parks/{park_id}/entry/form")
def entry_form(
    console: ConsoleDep,
    request: Request,
    park_id: str,
    session: PageSession,
    credit_code: str = "",
    period: str | None = None,
) -> Response:
    park = console.park(session.user, park_id)
    chosen = period_or_default(period)
    hub = console.hub
    doc = park_doc(hub, park_id, MONTHLY, f"{credit_code}|{chosen}") if credit_code else None
    name = enterprise_name(hub, park_id, credit_code)
    form = (credit_code, name, form_values(doc))
    return form_page(console, request, session, park, chosen, form)


@router.post("/console/parks/{park_id}/entry/form")
async def entry_form_submit(request: Request, park_id: str) -> Response:
    # The figures' fields follow FORM_COLUMNS, so the form is read whole rather than declared.
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    return await run_in_threadpool(submit_form, console_of(request), request, park_id, fields)


def submit_form(
    console: Console, request: Request, park_id: str, fields: Mapping[str, str]
) -> Response:
    """The form in steps: checked and shown for review (nothing stored), then saved and queued
    once confirmed (`step=confirm`); `step=edit` goes back to the form. Any problem shows the
    form again with every problem beside its field (nothing saved)."""
    session = page_session(request)
    check_csrf(session, fields.get("csrf_token"))
    park = console.park(session.user, park_id)
    credit_code, period, values = submitted(fields)
    hub, user = console.hub, session.user.username
    step = fields.get("step", "review")
    known = enterprise_name(hub, park_id, credit_code) if credit_code else ""
    name = known or fields.get("name", "").strip()
    original = fields.get("original_credit_code", "").strip()
    shown = period or previous_period(utcnow())
    if original and credit_code != original:
        error = "已登记企业的统一社会信用代码不能修改 (a known enterprise's credit code is fixed)"
        form = (original, enterprise_name(hub, park_id, original), values)
        return form_page(console, request, session, park, shown, form, {"credit_code": [error]})
    if step == "edit":
        return form_page(console, request, session, park, shown, (credit_code, name, values))
    checked = import_form(hub, park_id, user, credit_code, period, values, check_only=True)
    field_errors, general = form_problems(checked) if _refused(checked) else ({}, [])
    if credit_code and not known and not name:
        field_errors["name"] = ["新企业请填写企业名称 (a new enterprise needs its name)"]
    if field_errors or general:
        form = (credit_code, name, values)
        return form_page(console, request, session, park, shown, form, field_errors, general)
    if step != "confirm":
        form = (credit_code, name, values)
        return review_page(console, request, session, park, shown, form, checked)
    form = (credit_code, name, values)
    return save_form(console, request, session, park, shown, form, new=not known)


def _refused(imported: Imported) -> bool:
    result = imported.result
    return result is None or bool(result.errors) or not saved_rows(result)


def review_page(
    console: Console,
    request: Request,
    session: Session,
    park: ParkConfig,
    period: str,
    form: tuple[str, str, Mapping[str, str]],
    checked: Imported,
) -> Response:
    """What will be saved and to whom it will be reported, before anything is."""
    credit_code, name, values = form
    known = bool(enterprise_name(console.hub, park.id, credit_code))
    context = {
        "park": park,
        "period": period,
        "credit_code": credit_code,
        "name": name,
        "new": not known,
        "values": values,
        "rows": review_rows(values),
        "columns": FORM_COLUMNS,
        "warnings": checked.summary()["problems"],
        "platforms": report_targets(console.hub, park.id, new=not known),
    }
    return console.render(request, "entry_review.html", context, session=session)


def save_form(
    console: Console,
    request: Request,
    session: Session,
    park: ParkConfig,
    period: str,
    form: tuple[str, str, Mapping[str, str]],
    *,
    new: bool,
) -> Response:
    """Save the confirmed form: a new enterprise onto the roster first, then its figures."""
    credit_code, name, values = form
    user = session.user.username
    park_id = park.id
    if new and credit_code:
        added = import_new_enterprise(console.hub, park_id, user, credit_code, name)
        if _refused(added):
            field_errors, general = form_problems(added)
            return form_page(console, request, session, park, period, form, field_errors, general)
    imported = import_form(console.hub, park_id, user, credit_code, period, values)
    result = imported.result
    if result is not None and not result.errors and saved_rows(result):
        summary = result.summary()
        if summary["problems"]:  # saved, with warnings to read (e.g. a check digit)
            return entry_page(
                console, request, session, park, period, {"filename": WEB_FORM, **summary}
            )
        msg = "saved" if result.new or result.changed else "unchanged"
        target = urllib.parse.urlencode({"period": period, "msg": msg})
        return console.redirect(f"/console/parks/{park_id}/entry?{target}")
    field_errors, general = form_problems(imported)
    return form_page(console, request, session, park, period, form, field_errors, general)


def report_targets(hub: Hub, park_id: str, *, new: bool) -> list[str]:
    """Where the form's data goes: each platform and report taking enterprise figures (and
    the roster, for a new enterprise), and the park reports its figures are summed into, as
    operators call them."""
    kinds = {MONTHLY, "enterprise"} if new else {MONTHLY}
    out = []
    for s in subscriptions(hub.config):
        if not s.covers(park_id) or s.spec.record_kind not in {*kinds, "park_monthly"}:
            continue
        name = (
            f"{platform_title(hub.config, s.platform.name)} · "
            f"{report_title(hub.config, s.platform.name, s.subscription.report)}"
        )
        via = (
            "（计入园区月报 summed into the park report）"
            if s.spec.record_kind == "park_monthly"
            else ""
        )
        out.append(name + via)
    return out
