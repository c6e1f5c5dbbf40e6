"""The reporting ledger (报送台账) for an audit or the county's inspection: the rows of the
store's ledger with the names operators use, as a table or an .xlsx workbook."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from parkhub.canonical.timeutil import format_local
from parkhub.config import HubConfig
from parkhub.store import Store

from .enterprise_view import enterprise_names
from .names import kind_title, platform_titles, report_titles

STATUS_TITLES = {
    "sent": "已送达",
    "pending": "待发送",
    "in_flight": "发送中",
    "failed": "失败待重试",
    "dead": "已停止重试",
    "superseded": "已被新版本取代",
}
HEADERS = (
    ("id", "投递编号", 10),
    ("park", "园区", 22),
    ("platform_title", "报送平台", 16),
    ("report_title", "报表", 16),
    ("kind_title", "数据类别", 12),
    ("enterprise", "企业", 28),
    ("record_key", "记录", 36),
    ("revision", "版本", 6),
    ("correction", "更正", 6),
    ("status_title", "状态", 12),
    ("sent_at", "报送时间（北京时间）", 20),
    ("receipt_id", "回执号", 28),
    ("attempts", "尝试次数", 8),
    ("last_error", "原因", 40),
)


def ledger_rows(
    rows: Sequence[Mapping[str, Any]], config: HubConfig, store: Store
) -> list[dict[str, Any]]:
    """Ledger rows with the names people use: platform and report titles, park and
    enterprise names, status in Chinese, times in Beijing time."""
    platforms = platform_titles(config)
    reports = report_titles(config)
    parks = {p.id: p.name for p in config.parks}
    names = enterprise_names(store, {r["park_id"] for r in rows})
    out = []
    for r in rows:
        code = str(r["record_key"]).split("|", 1)[0]
        when = r["sent_at"] or r["updated_at"]
        out.append(
            {
                **r,
                "park": parks.get(r["park_id"], r["park_id"]),
                "platform_title": platforms.get(r["platform"], r["platform"]),
                "report_title": reports.get((r["platform"], r["report"]), r["report"]),
                "kind_title": kind_title(r["record_kind"]),
                "enterprise": names.get(code, ""),
                "status_title": STATUS_TITLES.get(r["status"], r["status"]),
                "sent_at": format_local(when, "%Y-%m-%d %H:%M:%S") if when else "",
                "correction": "是" if r["correction"] else "",
            }
        )
    return out


def ledger_xlsx(rows: Sequence[Mapping[str, Any]], *, title: str) -> bytes:
    """The ledger as a workbook: a title row, Chinese headers, one delivery a row."""
    wb = Workbook()
    ws = wb.active
    ws.title = "报送台账"
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([label for _, label, _ in HEADERS])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append([_cell(r.get(key)) for key, _, _ in HEADERS])
    for n, (_, _, width) in enumerate(HEADERS, start=1):
        ws.column_dimensions[get_column_letter(n)].width = width
    ws.freeze_panes = "A3"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    return value if isinstance(value, int | float | str) else str(value)
