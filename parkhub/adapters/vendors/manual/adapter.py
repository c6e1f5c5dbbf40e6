"""Operator data entry (人工填报): .xlsx workbooks and CSV files filled in by park staff.

Streams: `enterprise_monthly` (企业月度经营数据), `enterprise_roster` (入园企业名录) and
`enterprise_annual` (a year's figures for the 亩均 evaluation); any other stream name means
"detect" (from the template's hidden metadata sheet, the sheet names or
the headers). The file formats, the columns and the value parsing live in their own modules (see the
package's docstring), shared with the template writer (`template`); rows become records in
`records`.

Every row is validated on its own: a valid row becomes a record, an invalid row becomes one
EntryError per bad cell, naming sheet, row, column and value in Chinese and English.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from parkhub.adapters.common import AdapterConfig
from parkhub.adapters.vendors.base import Parsed, RawMessage, VendorAdapter
from parkhub.limits import EntryLimits

from .columns import ANNUAL, COLUMNS, INSTRUCTIONS_SHEET, KIND_LABELS, KINDS, MONTHLY
from .detect import detect_kind
from .entryfile import EntryFile
from .files import read_file
from .headers import SheetLayout, locate_header
from .metadata import TEMPLATE_VERSION
from .problems import CellProblem, EntryError, EntryFileError
from .records import MONTHLY_VALUES, EntryWarning, FileRows
from .rows import Row, is_total_row, read_rows

_LIST_ROWS = 20  # rows named in a summary warning


class ManualConfig(AdapterConfig, EntryLimits):
    """Nothing is needed to read operator files; the limits are here to be tuned (for every
    park's entry: `limits.entry` in parkhub.yaml)."""


class ManualAdapter(VendorAdapter[ManualConfig]):
    """Reads operator workbooks (.xlsx) and CSV exports into enterprise and monthly records."""

    name: ClassVar[str] = "manual"
    config_model: ClassVar[type[ManualConfig]] = ManualConfig
    capabilities: ClassVar[frozenset[str]] = frozenset({"file"})

    # -- file -------------------------------------------------------------------------------

    def parse(self, raw: RawMessage) -> Iterator[Parsed]:
        return self._parse(raw, [])

    def rows_of(self, raw: RawMessage) -> dict[str, str]:
        """Record key -> the row it came from (`月度数据!第7行`): to show what the quality
        rules found about a record at the row the operator filled (parsed again: files are
        small, and this runs only when something was found)."""
        keep: list[FileRows] = []
        for _ in self._parse(raw, keep):
            pass
        return dict(keep[0].first_seen) if keep else {}

    def _parse(self, raw: RawMessage, keep: list[FileRows]) -> Iterator[Parsed]:
        filename = str(raw.meta.get("filename") or "") or None
        where = filename or "文件"
        try:
            entry = read_file(raw.body, filename=filename, limits=self.config)
        except EntryFileError as exc:
            raise self._error(where, None, None, None, exc) from None
        kind = self._kind(raw.stream, entry, where)
        yield from self._check_metadata(entry, where)
        for name in entry.extra_sheets:
            problem = CellProblem(
                "这个工作表不是模板的一部分，未导入（模板只导入“数据”工作表）",
                "this sheet is not part of the template and was not imported (a template's "
                "data is on its data sheet)",
            )
            yield self._error(name, None, None, None, problem, EntryWarning)
        total = sum(len(s.rows) for s in entry.sheets)
        if total > self.config.max_rows:
            raise self._file_error(
                where,
                total,
                f"文件行数过多（{total}行，上限{self.config.max_rows}行），请分成几个文件导入",
                f"too many rows ({total}; limit {self.config.max_rows}): split the file",
            )
        rows = FileRows(
            self.source.name, self.build, kind, entry.metadata.get("period") or _meta_period(raw)
        )
        keep.append(rows)
        found = False
        for sheet in entry.sheets:
            layout = locate_header(sheet, kind)
            if layout is None:
                if sheet.rows and sheet.name != INSTRUCTIONS_SHEET:
                    problem = CellProblem(
                        "该工作表中没有找到表头，已跳过", "no header row in this sheet; skipped"
                    )
                    yield self._error(sheet.name, None, None, None, problem, EntryWarning)
                continue
            found = True
            rows.epoch = sheet.epoch
            yield from self._sheet(layout, read_rows(sheet, layout), rows)
        if not found:
            raise self._file_error(
                where,
                None,
                "找不到表头：需要一行列名，包括“统一社会信用代码”和至少一个数据列"
                f"（{KIND_LABELS[kind]}）；请使用园区下发的模板",
                "no header row found: a row of column names with 统一社会信用代码 (credit "
                f"code) and at least one data column ({kind}); use the park's template",
            )

    def _kind(self, stream: str, entry: EntryFile, where: str) -> str:
        meta_kind = entry.metadata.get("kind")
        if stream in KINDS:
            if meta_kind in KINDS and meta_kind != stream:
                raise self._file_error(
                    where,
                    meta_kind,
                    f"这是“{KIND_LABELS[meta_kind]}”模板，不能作为“{KIND_LABELS[stream]}”导入",
                    f"this is a {meta_kind} template, not {stream}",
                )
            return stream
        detected = detect_kind(entry)
        if detected is None:
            raise self._file_error(
                where,
                None,
                "无法判断文件内容是月度数据还是企业名录：请使用园区下发的模板",
                "cannot tell whether the file holds monthly data or the enterprise roster: "
                "use the park's template or name the stream",
            )
        return detected

    def _check_metadata(self, entry: EntryFile, where: str) -> list[Parsed]:
        meta = entry.metadata
        park = meta.get("park_id")
        if park and park != self.source.park_id:
            raise self._file_error(
                where,
                park,
                f"这是园区“{meta.get('park_name', park)}”（{park}）的模板，"
                f"不能导入到园区 {self.source.park_id}",
                f"this template belongs to park {park}, not {self.source.park_id}",
            )
        version = meta.get("template_version")
        if version and version.isdigit() and int(version) > int(TEMPLATE_VERSION):
            problem = CellProblem(
                f"模板版本 {version} 比本系统新（{TEMPLATE_VERSION}），请升级 parkhub",
                f"template version {version} is newer than {TEMPLATE_VERSION}; upgrade parkhub",
            )
            return [self._error(where, None, None, version, problem, EntryWarning)]
        return []

    # -- sheets -----------------------------------------------------------------------------

    def _sheet(self, layout: SheetLayout, rows: Iterable[Row], file: FileRows) -> Iterator[Parsed]:
        sheet, header = layout.sheet, layout.header_row
        for column, value, note in layout.notes:
            yield self._error(sheet, header, column, value, note, EntryWarning)
        if layout.problems:
            for column, value, problem in layout.problems:
                yield self._error(sheet, header, column, value, problem)
            return
        missing = [
            c
            for c in COLUMNS[file.kind]
            if c.required
            and c.field not in layout.columns
            and not (c.field in ("period", "year") and file.period)
        ]
        if missing:
            for col in missing:
                problem = CellProblem(
                    f"缺少必填列“{col.header}”", f"the required column {col.header} is missing"
                )
                yield self._error(sheet, header, col.header, None, problem)
            return
        unfilled: list[int] = []
        totals: list[int] = []
        row_fn = {MONTHLY: file.monthly_row, ANNUAL: file.annual_row}.get(
            file.kind, file.roster_row
        )
        for row in rows:
            if is_total_row(row):
                totals.append(row.number)
                continue
            out: list[Parsed] = []
            if not row_fn(row, layout, out):
                unfilled.append(row.number)
            yield from out
        if totals:
            problem = CellProblem("合计行不导入，已跳过", "a totals row is not data; skipped")
            yield self._error(sheet, totals[0], None, None, problem, EntryWarning)
        if unfilled:
            shown = [str(n) for n in unfilled[:_LIST_ROWS]]
            more = len(unfilled) > _LIST_ROWS
            problem = CellProblem(
                f"{len(unfilled)}行只有企业信息、没有填写数据，已跳过："
                f"第{'、'.join(shown)}行{'等' if more else ''}",
                f"{len(unfilled)} rows have no figures and were skipped: rows "
                f"{', '.join(shown)}{'...' if more else ''}",
            )
            yield self._error(sheet, None, None, None, problem, EntryWarning)

    def _error(
        self,
        sheet: str,
        row: int | None,
        column: str | None,
        value: Any,
        problem: CellProblem,
        kind: type[EntryError] = EntryError,
    ) -> EntryError:
        return kind(self.source.name, sheet, row, column, value, problem.zh, problem.en)

    def _file_error(self, where: str, value: Any, zh: str, en: str) -> EntryError:
        """The whole file is refused: nothing of it is imported."""
        return self._error(where, None, None, value, CellProblem(zh, en))


def _meta_period(raw: RawMessage) -> str | None:
    period = raw.meta.get("period")
    return str(period) if period else None


__all__ = ["MONTHLY_VALUES", "EntryWarning", "ManualAdapter", "ManualConfig"]
