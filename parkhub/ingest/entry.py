"""Operator entry: an operator's workbook, CSV or web form into the park's records, and the
Excel template to fill.

Enterprises and their figures are keyed by credit code across parks, so a file naming another
park's enterprise would move it (and its figures) to this park: such a file is refused whole
with ForeignRecordsError, unless `allow_move` (an enterprise that really moved in, confirmed by
an administrator; audited).

The faces' entry API (the web console and the CLI use these, never the manual vendor's modules),
besides `Hub.import_entry` and `Hub.entry_template`:
- `MONTHLY`, the kind of the monthly figures; `entry_source(park_id)`, a park's entry source;
- `format_report(result, include_warnings=True)`, an import's problems as rows to show (level,
  sheet, row, column, cell, value, reason_zh, reason_en); `IngestResult.summary()` has them too;
- `template_filename(park, period, kind)` and `XLSX_CONTENT_TYPE`, to hand the template out;
- `FORM_COLUMNS` and `Column` (`Column.in_template_unit`), a web form in the template's headers
  and units; `FIELD_COLUMNS`, every entry quantity by field.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from parkhub.adapters.vendors.base import RawMessage, VendorAdapter
from parkhub.adapters.vendors.manual import (
    ANNUAL,
    COLUMNS,
    MONTHLY,
    MONTHLY_COLUMNS,
    MONTHLY_VALUES,
    XLSX_CONTENT_TYPE,
    Column,
    ManualAdapter,
    content_type_for,
    format_report,
    read_metadata,
    template_bytes,
    template_filename,
)
from parkhub.canonical import Record
from parkhub.config import HubConfig
from parkhub.errors import ConfigError, ForeignRecordsError, InputError
from parkhub.store import RawStatus

from .results import IngestResult
from .service import IngestService
from .sources import entry_source

__all__ = [
    "FIELD_COLUMNS",
    "FORM_COLUMNS",
    "MONTHLY",
    "XLSX_CONTENT_TYPE",
    "Column",
    "OperatorEntry",
    "entry_source",
    "format_report",
    "template_filename",
]

FORM_COLUMNS: tuple[Column, ...] = tuple(c for c in MONTHLY_COLUMNS if c.field in MONTHLY_VALUES)
"""The monthly figures a web form asks for: the template's columns, headers, units and help."""
FIELD_COLUMNS: dict[str, Column] = {
    c.field: c for columns in COLUMNS.values() for c in columns if c.quantity is not None
}
"""Every quantity an entry sheet asks for, by canonical field: its header and unit (a form
that corrects a held record shows values as the templates do)."""


class OperatorEntry:
    def __init__(self, ingest: IngestService, config: HubConfig) -> None:
        self.ingest = ingest
        self.config = config

    def import_file(
        self,
        path_or_bytes: str | Path | bytes,
        park_id: str | None = None,
        *,
        filename: str | None = None,
        stream: str | None = None,
        period: str | None = None,
        actor: str = "cli",
        allow_move: bool = False,
        check_only: bool = False,
    ) -> IngestResult:
        """Import an operator's workbook or CSV. The same file twice stores nothing new, but its
        row problems are reported again. `check_only`: parse and check (another park's records
        refused as in an import) and store nothing: the result counts the records as `new`."""
        limits = self.config.limits.entry
        if isinstance(path_or_bytes, bytes):
            body, name = path_or_bytes, filename
            _check_size(len(body), limits.max_file_bytes, name)
        else:
            path = Path(path_or_bytes)
            name = filename or path.name
            _check_size(path.stat().st_size, limits.max_file_bytes, name)  # before reading it
            body = path.read_bytes()
        park_id, adapter, raw = self._raw(body, name, park_id, stream, period, actor)
        source, kind = raw.source, raw.stream
        parsed = adapter.parse_message(raw)  # parsed once: the check, the import, a repeat
        foreign = self.foreign_records(park_id, parsed.records)
        if foreign and not allow_move:
            raise ForeignRecordsError(park_id, foreign)
        if check_only:  # what an import would store, and its problems: nothing is stored
            return IngestResult(
                0,
                status=RawStatus.of(len(parsed.records), parsed.errors),
                new=len(parsed.records),
                errors=list(parsed.errors),
                warnings=list(parsed.warnings),
            )
        result = self.ingest.ingest(adapter, raw, parsed=parsed)
        if result.duplicate:  # stored before: show the operator the file's problems again
            result.errors, result.warnings = parsed.errors, parsed.warnings
            result.unchanged = len(parsed.records)
        if result.findings and isinstance(adapter, ManualAdapter):
            result.rows = adapter.rows_of(raw)  # what the rules found, at its row
        detail = {
            "raw_id": result.raw_id,
            "park_id": park_id,
            "filename": name,
            "duplicate": result.duplicate,
            "new": result.new,
            "changed": result.changed,
            "errors": len(result.errors),
            "held": result.held,
            "moved": [f"{e.record} <- {e.reason}" for e in foreign] or None,
        }
        store = self.ingest.store
        fixed = []  # the same file imported clean: its earlier problems are fixed
        if name and not result.errors and not result.duplicate:
            fixed = store.inbox.earlier_problems(source, kind, name, result.raw_id)
        with store.begin() as conn:
            store.audit.add(conn, actor, "entry_import", detail)
            store.inbox.close_problems(fixed, RawStatus.RESOLVED, actor=actor, conn=conn)
        return result

    def _raw(
        self,
        body: bytes,
        name: str | None,
        park_id: str | None,
        stream: str | None,
        period: str | None,
        actor: str,
    ) -> tuple[str, VendorAdapter[Any], RawMessage]:
        """The park, its entry adapter, and the file as the raw message an import keeps."""
        meta = read_metadata(body, self.config.limits.entry)
        park_id = park_id or meta.get("park_id") or self._only_park()
        if park_id is None:
            raise ConfigError(
                "请用 --park 指定园区 (name the park: the file is not a parkhub template)"
            )
        self.config.park(park_id)
        source = entry_source(park_id)
        adapter = self.ingest.adapter(source)
        raw_meta: dict[str, Any] = {"filename": name, "actor": actor}
        if period:
            raw_meta["period"] = period
        kind = stream or meta.get("kind") or "auto"
        raw = RawMessage(source, kind, body, content_type_for(name or ""), meta=raw_meta)
        return park_id, adapter, raw

    def _only_park(self) -> str | None:
        return self.config.parks[0].id if len(self.config.parks) == 1 else None

    def foreign_records(self, park_id: str, records: Iterable[Record]) -> list[InputError]:
        """Which of `records` are stored for another park (for monthly figures: whose
        enterprise is on another park's roster), each naming the park that holds it."""
        recs = list(records)
        wanted: dict[str, set[str]] = {}
        for rec in recs:
            wanted.setdefault(rec.kind, set()).add(rec.key)
            if rec.kind in (MONTHLY, ANNUAL):
                wanted.setdefault("enterprise", set()).add(_enterprise_of(rec.key))
        store = self.ingest.store
        parks = {kind: store.records.parks_of(kind, keys) for kind, keys in wanted.items()}
        out = []
        for rec in recs:
            owners = [parks[rec.kind].get(rec.key)]
            if rec.kind in (MONTHLY, ANNUAL):
                owners.append(parks["enterprise"].get(_enterprise_of(rec.key)))
            other = next((o for o in owners if o is not None and o != park_id), None)
            if other is not None:
                out.append(
                    InputError(
                        entry_source(park_id),
                        f"{rec.kind}#{rec.key}",
                        "统一社会信用代码",
                        f"属于园区 {other} (stored for park {other})",
                    )
                )
        return out

    def template(self, park_id: str, period: str, *, kind: str = MONTHLY) -> bytes:
        """The Excel entry template of a park, prefilled with its enterprises and stored data."""
        park = self.config.park(park_id)
        records = self.ingest.store.records
        enterprises = records.docs("enterprise", park_id=park_id)
        suffix = {MONTHLY: f"|{period}", ANNUAL: f"|{period[:4]}"}.get(kind)
        values = [] if suffix is None else list(
            records.iter_docs(kind, park_id=park_id, key_suffix=suffix)
        )  # fmt: skip
        return template_bytes(park, period, enterprises, kind=kind, values=values)


def _check_size(size: int, limit: int, name: str | None) -> None:
    """A file past the limit is refused before it is read or kept."""
    if size > limit:
        raise InputError(
            "entry",
            name or "文件",
            None,
            f"文件太大（{size / 1024 / 1024:.1f} MB，上限 {limit / 1024 / 1024:.0f} MB），"
            f"请分成几个文件导入 (file too large: {size} bytes, limit {limit}; split it)",
        )


def _enterprise_of(monthly_key: str) -> str:
    """The credit code a monthly figure's key (`<credit code>|<period>`) starts with."""
    return monthly_key.partition("|")[0]
