"""Monthly entry from the console: the form's values in the template's units, the form as a
one-row CSV for `hub.import_entry` (one validation for a form and a workbook), uploads, and what
an import tells the operator."""

from __future__ import annotations

import csv
import io
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import Response, UploadFile

from parkhub.canonical.timeutil import SHANGHAI, previous_period, utcnow
from parkhub.config import ParkConfig
from parkhub.errors import ForeignRecordsError, ParkhubError
from parkhub.hub import Hub
from parkhub.ingest import IngestResult
from parkhub.ingest.entry import (
    FORM_COLUMNS,
    MONTHLY,
    XLSX_CONTENT_TYPE,
    template_filename,
)

from .auth import Denied

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
CODE_HEADER, PERIOD_HEADER, NOTE_HEADER = "统一社会信用代码", "统计期间", "备注"
NAME_HEADER, STATUS_HEADER, ROSTER = "企业名称", "状态", "enterprise_roster"


# -- values and periods -----------------------------------------------------------------------


def _fmt_number(value: float | int) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{round(float(value), 6):f}".rstrip("0").rstrip(".")


def form_values(doc: Mapping[str, Any] | None) -> dict[str, str]:
    """A stored EnterpriseMonthly document in the form's (the template's) units."""
    out: dict[str, str] = {}
    for col in FORM_COLUMNS:
        value = (doc or {}).get(col.field)
        if value is None or col.quantity is None or col.unit is None:
            out[col.field] = ""
            continue
        number = col.in_template_unit(value)
        out[col.field] = str(round(number)) if col.kind == "count" else _fmt_number(number)
    return out


def form_csv(credit_code: str, period: str, values: Mapping[str, str], note: str) -> bytes:
    """The form as a one-row CSV with the template's headers, for `hub.import_entry`: the same
    validation as a workbook. The note (remarks, never imported) makes each submission a new
    inbox message, so a value changed elsewhere and entered again is applied again."""
    headers = [CODE_HEADER, PERIOD_HEADER, *(c.header for c in FORM_COLUMNS), NOTE_HEADER]
    row = [credit_code, period, *(values.get(c.field, "") for c in FORM_COLUMNS), note]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerow(row)
    return buffer.getvalue().encode("utf-8")


def recent_periods(count: int = 13) -> list[str]:
    out = []
    period = previous_period(utcnow())
    year, month = (int(p) for p in period.split("-"))
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out


def period_choices(period: str) -> list[str]:
    """The periods a page offers: the recent ones and the chosen one, newest first."""
    return sorted({period, *recent_periods()}, reverse=True)


def period_or_default(period: str | None) -> str:
    """A YYYY-MM period as asked for, or last month (400 for anything else)."""
    if period is None or period == "":
        return previous_period(utcnow())
    if len(period) != 7 or period[4] != "-" or not (period[:4] + period[5:]).isdigit():
        raise Denied(400, "统计期间格式应为 YYYY-MM", "period must be YYYY-MM")
    if not 1 <= int(period[5:]) <= 12:
        raise Denied(400, "统计期间格式应为 YYYY-MM", "period must be YYYY-MM")
    return period


# -- templates and uploads --------------------------------------------------------------------


def template_response(
    hub: Hub, park: ParkConfig, period: str, *, headers: Mapping[str, str] | None = None
) -> Response:
    """The park's monthly workbook of `period`, as a download named for the park and period."""
    quoted = urllib.parse.quote(template_filename(park, period, MONTHLY))
    disposition = f"attachment; filename=\"template.xlsx\"; filename*=UTF-8''{quoted}"
    return Response(
        hub.entry_template(park.id, period),
        media_type=XLSX_CONTENT_TYPE,
        headers={"Content-Disposition": disposition, **(headers or {})},
    )


def read_upload(file: UploadFile) -> bytes:
    """An uploaded file's bytes (413 past MAX_UPLOAD_BYTES)."""
    body = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(body) > MAX_UPLOAD_BYTES:
        raise Denied(413, "文件太大（上限 20 MB）", "file too large (limit 20 MB)")
    return body


def refused_summary(problems: list[dict[str, Any]]) -> dict[str, Any]:
    """An upload refused before import: nothing stored."""
    return {
        "raw_id": None,
        "duplicate": False,
        "status": "refused",
        "new": 0,
        "changed": 0,
        "unchanged": 0,
        "deliveries": 0,
        "errors": len(problems),
        "problems": problems,
    }


def foreign_rows(exc: ForeignRecordsError) -> list[dict[str, Any]]:
    """The refused file's rows for the page: records stored for another park would be
    overwritten and moved to this park, so the file is refused whole."""
    out = []
    for err in exc.records:
        code, _, when = err.record.partition("#")[2].partition("|")
        out.append(
            {
                "level": "error",
                "sheet": "",
                "row": None,
                "column": CODE_HEADER,
                "cell": None,
                "value": code,
                "reason_zh": f"该企业{when + ' 期' if when else ''}的数据属于其他园区，"
                "不能在本园区导入或修改；请核对统一社会信用代码，企业迁入请联系管理员",
                "reason_en": "this enterprise's record belongs to another park and cannot "
                "be changed here; check the credit code, or ask an administrator",
            }
        )
    return out


@dataclass(frozen=True, slots=True)
class Imported:
    """An upload or a form, imported (`result`) or refused for another park's rows."""

    result: IngestResult | None
    foreign: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        if self.result is None:
            return refused_summary(self.foreign)
        return self.result.summary()


def import_file(
    hub: Hub,
    body: bytes,
    park_id: str,
    filename: str,
    actor: str,
    *,
    stream: str | None = None,
    period: str | None = None,
    check_only: bool = False,
) -> Imported:
    """Import an uploaded file unless it touches another park's records (`check_only`: only
    check it, store nothing)."""
    try:
        result = hub.import_entry(
            body,
            park_id,
            filename=filename,
            actor=actor,
            stream=stream,
            period=period,
            check_only=check_only,
        )
    except ForeignRecordsError as exc:
        return Imported(None, foreign_rows(exc))
    except ParkhubError as exc:
        raise Denied(400, "无法导入该文件", str(exc)) from None
    return Imported(result)


# -- the form ---------------------------------------------------------------------------------


def submitted(fields: Mapping[str, str]) -> tuple[str, str, dict[str, str]]:
    """A posted form's credit code, period and figures, as typed (trimmed)."""
    values = {c.field: fields.get(c.field, "").strip() for c in FORM_COLUMNS}
    return fields.get("credit_code", "").strip(), fields.get("period", "").strip(), values


def review_rows(values: Mapping[str, str]) -> list[dict[str, str]]:
    """The figures entered, with their headers, for the review step (blank ones left out)."""
    return [
        {"field": c.field, "header": c.header, "value": values[c.field]}
        for c in FORM_COLUMNS
        if values.get(c.field)
    ]


def import_form(
    hub: Hub,
    park_id: str,
    user: str,
    credit_code: str,
    period: str,
    values: Mapping[str, str],
    *,
    check_only: bool = False,
) -> Imported:
    """Import one enterprise's figures, as a one-row CSV audited as `web:<user>` (or only
    check them, for the review step)."""
    note = f"网页填报 {user} {utcnow().astimezone(SHANGHAI).isoformat(timespec='microseconds')}"
    body = form_csv(credit_code, period, values, note)
    filename = f"网页填报_{credit_code or 'new'}.csv"
    return import_file(
        hub,
        body,
        park_id,
        filename,
        f"web:{user}",
        stream=MONTHLY,
        period=period or None,
        check_only=check_only,
    )


def import_new_enterprise(
    hub: Hub, park_id: str, user: str, credit_code: str, name: str
) -> Imported:
    """Put a new enterprise on the park's roster (the form's 企业名称), as a one-row roster CSV
    audited as `web:<user>`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([CODE_HEADER, NAME_HEADER, STATUS_HEADER])
    writer.writerow([credit_code, name, "在园"])
    body = buffer.getvalue().encode("utf-8")
    filename = f"网页填报_名录_{credit_code}.csv"
    return import_file(hub, body, park_id, filename, f"web:{user}", stream=ROSTER)


def form_problems(
    imported: Imported,
) -> tuple[dict[str, list[str]], list[Mapping[str, Any]]]:
    """A rejected form's problems: the errors beside their fields, the rest above the form."""
    if imported.result is None:
        reasons = [f"{p['reason_zh']} ({p['reason_en']})" for p in imported.foreign]
        return {"credit_code": reasons}, []
    result = imported.result
    by_header = {c.header: c.field for c in FORM_COLUMNS}
    by_header.update({CODE_HEADER: "credit_code", PERIOD_HEADER: "period"})
    field_errors: dict[str, list[str]] = {}
    general: list[Mapping[str, Any]] = []
    for p in result.summary()["problems"]:
        key = by_header.get(p["column"] or "")
        if key is not None and p["level"] == "error":
            field_errors.setdefault(key, []).append(f"{p['reason_zh']} ({p['reason_en']})")
        else:
            general.append(p)
    if not result.errors and not saved_rows(result):
        general.append(
            {"level": "error", "reason_zh": "没有填写任何数据", "reason_en": "no figures entered",
             "value": ""}
        )  # fmt: skip
    return field_errors, general


def saved_rows(result: IngestResult) -> int:
    """How many records of the file are stored now (new, changed or already so)."""
    return result.new + result.changed + result.unchanged
