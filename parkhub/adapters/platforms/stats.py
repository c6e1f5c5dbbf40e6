"""统计局 (statistics bureau): its portal has no API, so each delivery updates the monthly form, an
.xlsx workbook per (park, period) in the bureau's layout, and optionally uploads it (multipart).
See docs/platforms/stats.md."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from zipfile import BadZipFile

import httpx
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from pydantic import Field

from parkhub.adapters.common import AdapterConfig
from parkhub.adapters.platforms.base import AnswerSpec, Platform, Receipt, ReportSpec, post
from parkhub.canonical.timeutil import format_local, utcnow
from parkhub.errors import PermanentDeliveryError, TransientDeliveryError
from parkhub.protocols import stats as proto
from parkhub.secrets import Secret

if sys.platform != "win32":
    import fcntl

SHEET = "企业月报"
META_SHEET = "_parkhub"
META_HEADER = ("creditCode", "revision", "idempotencyKey", "writtenAt")
TITLE_FIELDS = ("parkCode", "statPeriod")
HIDDEN_FIELDS = ("revision",)
KEY_FIELD = "creditCode"
SEQ_LABEL = "序号"
HEADER_ROW = 3
FIRST_ROW = HEADER_ROW + 1
_UNSAFE = re.compile(r"[^\w.-]")
UPLOAD_ANSWERS = AnswerSpec(
    proto.BUSINESS_CODES, success=proto.SUCCESS, message_at="msg", receipt_at="data.receiptNo"
)
"""How the upload endpoint answers."""


class StatsConfig(AdapterConfig):
    export_dir: Path = Field(description="folder for the workbooks (created when missing)")
    upload_url: str | None = Field(
        None, description="optional: POST each updated workbook here as multipart"
    )
    upload_token: Secret | None = Field(None, description="bearer token for the upload: env:NAME")
    park_names: dict[str, str] = Field(
        default_factory=dict, description="park id -> 园区名称 for the title row (default: the id)"
    )
    timeout_seconds: float = Field(30.0, gt=0)


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


@contextlib.contextmanager
def workbook_lock(path: Path) -> Iterator[None]:
    """Exclusive use of one workbook: a lock per path in this process, and an flock on a
    sidecar file against other processes on the same host."""
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(str(path.resolve()), threading.Lock())
    with lock:
        sidecar = path.with_name(f".{path.name}.lock")
        with open(sidecar, "a+b") as handle:
            if sys.platform != "win32":
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                if sys.platform != "win32":
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@dataclass
class Form:
    """The rows of one workbook, by credit code in row order, with their bookkeeping."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # label -> value
    meta: dict[str, tuple[int, str, str]] = field(default_factory=dict)  # revision, key, at

    def row_number(self, credit_code: str) -> int:
        return FIRST_ROW + list(self.rows).index(credit_code)


def read_form(path: Path, key_label: str) -> Form:
    """The rows kept in an existing workbook (an empty form when there is none)."""
    form = Form()
    if not path.exists():
        return form
    try:
        wb = load_workbook(path, read_only=True)
    except (BadZipFile, OSError, KeyError, ValueError) as exc:
        raise PermanentDeliveryError(
            f"stats: 导出文件无法读取 (workbook {path.name} cannot be read: {type(exc).__name__}); "
            "move it away and replay"
        ) from None
    try:
        if SHEET not in wb.sheetnames or META_SHEET not in wb.sheetnames:
            raise PermanentDeliveryError(
                f"stats: 导出文件不是本系统生成的格式 (workbook {path.name} lacks sheet "
                f"{SHEET} or {META_SHEET}); move it away and replay"
            )
        lines = list(wb[SHEET].iter_rows(min_row=HEADER_ROW, values_only=True))
        header = [str(h) if h is not None else "" for h in lines[0]] if lines else []
        for line in lines[1:]:
            row = {h: v for h, v in zip(header, line, strict=False) if h and h != SEQ_LABEL}
            code = row.get(key_label)
            if code:
                form.rows[str(code)] = row
        for line in wb[META_SHEET].iter_rows(min_row=2, values_only=True):
            code, revision, key, at = (list(line) + [None] * 4)[:4]
            if code and str(code) in form.rows:
                form.meta[str(code)] = (int(revision or 0), str(key or ""), str(at or ""))
    finally:
        wb.close()
    return form


_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def write_form(path: Path, form: Form, columns: list[str], title: str, subtitle: str) -> None:
    """Write the whole workbook to a temporary file beside `path`, then replace `path` at once."""
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    headers = [SEQ_LABEL, *columns]
    last = get_column_letter(len(headers))
    ws["A1"] = title
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.merge_cells(f"A1:{last}1")
    ws["A2"] = subtitle
    ws.merge_cells(f"A2:{last}2")
    fill = PatternFill("solid", fgColor="DDEBF7")
    for col, label in enumerate(headers, start=1):
        cell = ws.cell(row=HEADER_ROW, column=col, value=label)
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.border = _BOX
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(col)].width = max(8, min(30, len(label) * 2 + 2))
    for index, row in enumerate(form.rows.values()):
        values = [index + 1, *(row.get(label) for label in columns)]
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row=FIRST_ROW + index, column=col, value=None if value == "" else value)
            cell.border = _BOX
            if isinstance(value, str):
                cell.number_format = "@"
    ws.freeze_panes = f"A{FIRST_ROW}"
    meta = wb.create_sheet(META_SHEET)
    meta.append(META_HEADER)
    for code, (revision, key, at) in form.meta.items():
        meta.append((code, revision, key, at))
    meta.sheet_state = "hidden"
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644  # mkstemp makes 0600
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        os.chmod(tmp, mode)
        wb.save(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@dataclass(frozen=True)
class Written:
    path: Path
    row: int
    duplicate: bool
    stale: bool
    content: bytes | None


class StatsPlatform(Platform[StatsConfig]):
    """The statistics bureau's monthly enterprise form, as a workbook (and an optional upload)."""

    name: ClassVar[str] = "stats"
    title: ClassVar[str] = "统计"
    config_model: ClassVar[type[StatsConfig]] = StatsConfig
    reports: ClassVar[Mapping[str, ReportSpec]] = {
        "enterprise_monthly": ReportSpec(
            record_kind="enterprise_monthly",
            mapping="stats.enterprise_monthly.yaml",
            schema="stats/enterprise_monthly.schema.json",
            title="统计月报表",
            description="入园企业主要经济指标月报 (monthly form, xlsx)",
        ),
    }

    def __init__(self, config: StatsConfig, *, http: httpx.Client | None = None) -> None:
        super().__init__(config, http=http)
        self._labels: dict[str, dict[str, str]] = {}

    def set_labels(self, report: str, labels: Mapping[str, str]) -> None:
        self._labels[report] = dict(labels)

    def workbook_path(self, park: str, period: str) -> Path:
        """Where the form of `park` for `period` (YYYYMM) is written."""
        return Path(self.config.export_dir) / f"企业月报_{_UNSAFE.sub('_', park)}_{period}.xlsx"

    def columns(self, report: str) -> tuple[dict[str, str], list[str]]:
        """The mapping's labels (target field -> column header) and the form's columns."""
        labels = self._labels.get(report)
        if labels is None:
            raise PermanentDeliveryError(
                f"{self.name}: 报表 {report} 没有列标题 (no column labels for {report}: the "
                "runtime hands them over from the mapping spec; used alone, call set_labels)"
            )
        skip = {*TITLE_FIELDS, *HIDDEN_FIELDS}
        return labels, [label for target, label in labels.items() if target not in skip]

    def write(self, report: str, payload: Mapping[str, Any], idempotency_key: str) -> Written:
        """Put the payload's row into its workbook (a correction replaces the enterprise's row)."""
        labels, columns = self.columns(report)
        park, period = str(payload["parkCode"]), str(payload["statPeriod"])
        code, revision = str(payload[KEY_FIELD]), int(payload["revision"])
        path = self.workbook_path(park, period)
        name = self.config.park_names.get(park, park)
        when = f"{period[:4]}年{period[4:]}月"
        title = f"小微企业园入园企业主要经济指标月报（{when}）"
        subtitle = f"园区：{name}　园区编码：{park}　统计期：{when}"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with workbook_lock(path):
                form = read_form(path, labels[KEY_FIELD])
                known = form.meta.get(code)
                duplicate = known is not None and known[1] == idempotency_key
                stale = known is not None and not duplicate and known[0] > revision
                if not (duplicate or stale):
                    form.rows[code] = {
                        labels[target]: value
                        for target, value in payload.items()
                        if target in labels and labels[target] in columns
                    }
                    at = format_local(utcnow(), "%Y-%m-%d %H:%M:%S")
                    form.meta[code] = (revision, idempotency_key, at)
                    write_form(path, form, columns, title, subtitle)
                content = path.read_bytes() if self.config.upload_url else None
                return Written(path, form.row_number(code), duplicate, stale, content)
        except PermissionError as exc:
            raise PermanentDeliveryError(
                f"{self.name}: 导出目录无写权限 (no permission to write {exc.filename})"
            ) from None
        except OSError as exc:
            raise TransientDeliveryError(
                f"{self.name}: 写入导出文件失败 (cannot write the workbook: {exc.strerror or exc})"
            ) from None

    def send(self, report: str, payload: Mapping[str, Any], idempotency_key: str) -> Receipt:
        written = self.write(report, payload, idempotency_key)
        detail: dict[str, Any] = {"file": str(written.path), "row": written.row}
        if written.stale:
            detail["stale"] = True  # a newer revision is already in the form
        if written.content is None:
            return Receipt(
                f"{written.path}#R{written.row}",
                duplicate=written.duplicate or written.stale,
                detail=detail,
            )
        answer = self.upload(payload, written.content, idempotency_key)
        return UPLOAD_ANSWERS.receipt(answer, self.name, {**detail, "upload": answer})

    def upload(self, payload: Mapping[str, Any], content: bytes, key: str) -> dict[str, Any]:
        """POST the workbook to `upload_url` (multipart): the answer, or a DeliveryError."""
        assert self.config.upload_url is not None
        park, period = str(payload["parkCode"]), str(payload["statPeriod"])
        headers = {proto.IDEMPOTENCY_HEADER: key}
        if self.config.upload_token is not None:
            headers["Authorization"] = f"Bearer {self.config.upload_token.get_secret_value()}"
        filename = f"enterprise_monthly_{_UNSAFE.sub('_', park)}_{period}.xlsx"
        where = f"{self.name} upload"
        response = post(
            self.http,
            self.config.upload_url,
            platform=where,
            timeout=self.config.timeout_seconds,
            files={proto.FILE_FIELD: (filename, content, proto.XLSX_TYPE)},
            data={proto.PARK_FIELD: park, proto.PERIOD_FIELD: period},
            headers=headers,
        )
        return UPLOAD_ANSWERS.read(response, where)
